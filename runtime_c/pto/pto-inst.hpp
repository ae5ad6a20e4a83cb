/* <pto/pto-inst.hpp> -- pto-wsp's host implementation of the PTO-ISA API subset pto-wsp emits.
 *
 * Clean-room: written from the public API description (names, template parameters, semantics),
 * over pto-wsp's C tile library, so a kernel runs bit-equal (values and cycles) to cpu_sim.  It
 * also checks what the official CPU simulation does not (pipe synchronisation, buffers clobbered
 * through overlapping TASSIGNs, UB/L1/L0 budgets, tile roles, the 32-byte row rule).
 * Build: g++ -std=c++20 -I<pto_wsp/runtime_c>.  See docs/ascend.md. */
#ifndef PTO_HOST_PTO_INST_HPP
#define PTO_HOST_PTO_INST_HPP

#include "host/types.hpp"
#include "host/check.hpp"
#include "host/instr.hpp"

#endif /* PTO_HOST_PTO_INST_HPP */
