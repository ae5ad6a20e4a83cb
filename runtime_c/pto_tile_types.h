/* pto_tile_types.h -- the storage types of the 16-bit dtypes, shared by the C tile library and
 * the generated kernel argument blocks (kernels.h includes only this, not the library). */
#ifndef PTO_TILE_TYPES_H
#define PTO_TILE_TYPES_H

#include <stdint.h>

typedef uint16_t pto_bf16_t; /* bfloat16 bit pattern */
/* f16 storage: _Float16 in C; its bit pattern in C++ (g++ 12 has no _Float16 there), so the
 * host PTO-ISA layer (runtime_c/pto/) runs this same code with its own 16-bit half type */
#ifdef __cplusplus
typedef uint16_t pto_f16_t;
#else
typedef _Float16 pto_f16_t;
#endif

#endif
