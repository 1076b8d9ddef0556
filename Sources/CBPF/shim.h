#ifndef REARVIEW_CBPF_SHIM_H
#define REARVIEW_CBPF_SHIM_H
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#endif
