// Arm semihosting calls that the port makes itself, without newlib: they must work before newlib
// is initialized and after the heap trap or a fault has made newlib's state unusable.
//
// A semihosting call is `bkpt 0xAB` with the operation number in r0 and a pointer to its
// arguments in r1; the debugger or emulator (here QEMU with -semihosting-config enable=on)
// performs it and returns the result in r0. Without a debugger attached, real hardware stops at
// the breakpoint, so these calls are for emulation and debugging only.
// Operation numbers: "Semihosting for AArch32 and AArch64", Arm, version 3.0.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mps2_an386::semihosting {

inline constexpr std::uint32_t sys_write0 = 0x04;
inline constexpr std::uint32_t sys_get_cmdline = 0x15;
inline constexpr std::uint32_t sys_exit = 0x18;
inline constexpr std::uint32_t sys_exit_extended = 0x20;

/// Reason codes of SYS_EXIT: a normal exit (ADP_Stopped_ApplicationExit) and a failure
/// (ADP_Stopped_RunTimeErrorUnknown).
inline constexpr std::uint32_t application_exit = 0x20026;
inline constexpr std::uint32_t run_time_error = 0x20023;

inline std::uint32_t call(std::uint32_t operation, const void* arguments) noexcept {
    register std::uint32_t r0 asm("r0") = operation;
    register const void* r1 asm("r1") = arguments;
    asm volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

/// Writes a null-terminated string to the host's console, which QEMU 7.2 prints on its standard
/// error. newlib's stdout goes to QEMU's standard output instead.
inline void write(const char* text) noexcept { call(sys_write0, text); }

/// Ends the program with the given exit status. QEMU exits with that status.
///
/// SYS_EXIT_EXTENDED carries the status on 32-bit targets; plain SYS_EXIT there carries only the
/// reason, which QEMU turns into status 0 or 1. QEMU 7.2 implements SYS_EXIT_EXTENDED.
[[noreturn]] inline void exit(int status) noexcept {
    const std::uint32_t block[2] = {application_exit, static_cast<std::uint32_t>(status)};
    call(sys_exit_extended, block);
    // Only reached when the host lacks SYS_EXIT_EXTENDED: stop with at least a failure reason.
    const std::uint32_t reason = status == 0 ? application_exit : run_time_error;
    call(sys_exit, reinterpret_cast<const void*>(static_cast<std::uintptr_t>(reason)));
    for (;;) {
    }
}

/// Copies the command line of the program (in QEMU: the -kernel file name followed by -append)
/// into `buffer`, null-terminated. Returns false if the host refused or the buffer is too small.
inline bool get_command_line(char* buffer, std::size_t size) noexcept {
    struct {
        char* buffer;
        std::uint32_t size;
    } block = {buffer, static_cast<std::uint32_t>(size)};
    return call(sys_get_cmdline, &block) == 0;
}

}  // namespace mps2_an386::semihosting
