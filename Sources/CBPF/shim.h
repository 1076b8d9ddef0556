#ifndef REARVIEW_CBPF_SHIM_H
#define REARVIEW_CBPF_SHIM_H
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <string.h>

/* The record layouts the BPF programs write, shared with bpf/rearview.bpf.c. */
#include "../../bpf/rearview_event.h"

/* bpf_object__open_mem with the object name set (libbpf names the maps after it); NULL and errno on failure. */
static inline struct bpf_object *rv_object_open_mem(const void *bytes, size_t size, const char *name)
{
    struct bpf_object_open_opts opts;
    memset(&opts, 0, sizeof(opts));
    opts.sz = sizeof(opts);
    opts.object_name = name;
    struct bpf_object *object = bpf_object__open_mem(bytes, size, &opts);
    if (libbpf_get_error(object)) {
        errno = -(int)libbpf_get_error(object);
        return NULL;
    }
    return object;
}

/* bpf_program__attach, NULL and errno on failure (libbpf 1.1 may return an error pointer). */
static inline struct bpf_link *rv_program_attach(struct bpf_program *program)
{
    struct bpf_link *link = bpf_program__attach(program);
    if (libbpf_get_error(link)) {
        errno = -(int)libbpf_get_error(link);
        return NULL;
    }
    return link;
}

#endif
