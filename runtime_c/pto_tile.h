/* pto_tile.h -- the pto-wsp C tile library (CPU simulation of PTO-ISA tile instructions).
 *
 * Header-only, C11 (gnu11).  Every instruction is a `static inline` function
 *     uint64_t pto_<instr>_<dtype>(<dst tiles>, <src tiles>, <scalars/modes>, <dims>)
 * over contiguous row-major tiles, returning its cost in cycles under the model selected by
 * PTO_COST_MODEL (0 = v9-compatible element counts, the default; 1 = A2/A3-like).
 * Also valid C++ (for the host PTO-ISA layer in runtime_c/pto/; f16 is then its uint16_t bits).
 * dtypes: f32 f64 f16 (_Float16) bf16 (uint16_t bits) i8 i16 i32 i64 u8 u16 u32 u64; masks and
 * compare results are one byte (uint8_t 0/1) per element.
 * The full table, numerics and cost formulas are in docs/tile-library.md. */
#ifndef PTO_TILE_H
#define PTO_TILE_H

/* bumped whenever a function's name, argument order or semantics changes */
#define PTO_TILE_VERSION 8

#ifdef __cplusplus
#define restrict __restrict /* C++ spells it __restrict; undefined again below */
#endif
#include "pto_tile_core.h"
#include "pto_tile_ew.h"
#include "pto_tile_red.h"
#include "pto_tile_mm.h"
#include "pto_tile_cvt.h"
#include "pto_tile_compose.h"
#ifdef __cplusplus
#undef restrict
#endif

#endif /* PTO_TILE_H */
