// Interface of the MPS2 AN386 port for the programs it runs: the exit statuses that the port
// itself reports, and the stack's high-water mark.
#pragma once

#include <cstddef>

namespace mps2_an386 {

/// Exit statuses that the port reports in place of main's. Values 124 to 127 are avoided because
/// the `timeout` command that wraps QEMU uses them.
enum ExitStatus : int {
    /// A fault handler ran (HardFault, MemManage, BusFault, UsageFault) or an interrupt without a
    /// handler fired.
    exit_status_fault = 101,
    /// The program called malloc, operator new or a relative while the heap trap was linked in.
    exit_status_heap_used = 102,
    /// main returned, but the lowest words of the stack had been overwritten: the stack overflowed.
    exit_status_stack_overflow = 103,
};

/// Returns the maximum number of stack bytes used since reset, found from the paint pattern that
/// the reset handler writes into the unused stack. The count is an estimate: a stack frame that
/// reserves space without writing it is not seen.
std::size_t stack_bytes_used() noexcept;

/// Returns the stack size set by the linker script (__stack_size__).
std::size_t stack_size() noexcept;

}  // namespace mps2_an386
