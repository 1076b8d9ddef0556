#ifndef REARVIEW_CZLIB_SHIM_H
#define REARVIEW_CZLIB_SHIM_H
#include <zlib.h>
#endif
