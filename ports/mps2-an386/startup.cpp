// Startup code of the MPS2 AN386 port: the vector table, the reset handler and the fault handlers.
//
// Reset order: enable the FPU, copy .data, zero .bss, paint the stack, open the semihosting
// console, run static constructors and call main with the semihosting command line. After main
// returns, the stack is checked and newlib's exit() flushes stdio and ends QEMU with main's status.

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "board.hpp"
#include "semihosting.hpp"

// Symbols from mps2-an386.ld.
extern "C" {
extern std::uint32_t __stack_bottom__[];
extern std::uint32_t __stack_top__[];
extern std::uint32_t __data_start__[];
extern std::uint32_t __data_end__[];
extern const std::uint32_t __data_load_start__[];
extern std::uint32_t __bss_start__[];
extern std::uint32_t __bss_end__[];
extern char __heap_start__[];
extern char __heap_end__[];

// newlib: runs .preinit_array, _init and .init_array.
void __libc_init_array();
// librdimon: opens the semihosting handles behind stdin, stdout and stderr.
void initialise_monitor_handles();

[[noreturn]] void Reset_Handler();
[[noreturn]] void microfit_port_start();
[[noreturn]] void microfit_port_fault(std::uint32_t exception_number);
void microfit_port_fault_entry();
}

// `main` cannot be named in C++ code, so it is called through this alias of its symbol.
extern "C" int microfit_port_main(int argc, char** argv) asm("main");

namespace {

constexpr std::uint32_t stack_paint = 0xDEADBEEFu;

/// Words at the bottom of the stack that must still contain the paint when main returns.
constexpr std::size_t stack_guard_words = 16;

/// Maximum number of arguments taken from the semihosting command line.
constexpr int max_arguments = 16;

char command_line[1024];
char* arguments[max_arguments + 1];

/// Splits `command_line` at spaces into `arguments` and returns the count. Quoting is not
/// supported: QEMU passes -append verbatim.
int split_command_line() {
    int count = 0;
    char* p = command_line;
    while (*p != '\0' && count < max_arguments) {
        while (*p == ' ') *p++ = '\0';
        if (*p == '\0') break;
        arguments[count++] = p;
        while (*p != '\0' && *p != ' ') ++p;
    }
    arguments[count] = nullptr;
    return count;
}

void write_number(std::uint32_t value, unsigned base) {
    char digits[12];
    char* p = digits + sizeof digits;
    *--p = '\0';
    do {
        const unsigned digit = value % base;
        *--p = static_cast<char>(digit < 10 ? '0' + digit : 'a' + digit - 10);
        value /= base;
    } while (value != 0);
    mps2_an386::semihosting::write(p);
}

bool stack_guard_intact() {
    for (std::size_t i = 0; i < stack_guard_words; ++i) {
        if (__stack_bottom__[i] != stack_paint) return false;
    }
    return true;
}

}  // namespace

// The reset handler runs before anything may touch a floating-point register. The FPU is off
// after reset and any FPU instruction would then raise a UsageFault (NOCP), so CP10 and CP11 get
// full access in CPACR (0xE000ED88, bits 20 to 23) first. DSB makes the write complete and ISB
// makes the following instructions see it. The function is naked so that the compiler adds no
// code of its own before that.
extern "C" __attribute__((naked, noreturn)) void Reset_Handler() {
    asm volatile(
        "ldr r0, =0xE000ED88\n"
        "ldr r1, [r0]\n"
        "orr r1, r1, #(0xF << 20)\n"
        "str r1, [r0]\n"
        "dsb\n"
        "isb\n"
        "b microfit_port_start\n");
}

extern "C" void microfit_port_start() {
    const std::size_t data_bytes = static_cast<std::size_t>(__data_end__ - __data_start__) * sizeof(std::uint32_t);
    std::memcpy(__data_start__, __data_load_start__, data_bytes);
    const std::size_t bss_bytes = static_cast<std::size_t>(__bss_end__ - __bss_start__) * sizeof(std::uint32_t);
    std::memset(__bss_start__, 0, bss_bytes);

    // Paint the stack below the current frame, leaving 256 bytes of margin for this function.
    std::uint32_t* stack_pointer;
    asm volatile("mov %0, sp" : "=r"(stack_pointer));
    for (std::uint32_t* p = __stack_bottom__; p < stack_pointer - 64; ++p) *p = stack_paint;

    initialise_monitor_handles();
    __libc_init_array();

    int argc = 0;
    if (mps2_an386::semihosting::get_command_line(command_line, sizeof command_line)) {
        argc = split_command_line();
    }
    const int status = microfit_port_main(argc, arguments);

    if (!stack_guard_intact()) {
        mps2_an386::semihosting::write("mps2-an386: stack overflow, the lowest stack words were overwritten. "
                                       "Raise __stack_size__ (now ");
        write_number(static_cast<std::uint32_t>(mps2_an386::stack_size()), 10);
        mps2_an386::semihosting::write(" bytes)\n");
        mps2_an386::semihosting::exit(mps2_an386::exit_status_stack_overflow);
    }
    std::exit(status);
}

// Every exception other than reset: report which one and stop. The entry resets the stack pointer
// first, so that the report still works after a stack overflow, and reads the exception number
// from IPSR.
extern "C" __attribute__((naked, noreturn)) void microfit_port_fault_entry() {
    asm volatile(
        "ldr r0, =__stack_top__\n"
        "mov sp, r0\n"
        "mrs r0, ipsr\n"
        "b microfit_port_fault\n");
}

extern "C" void microfit_port_fault(std::uint32_t exception_number) {
    // Configurable Fault Status Register and the fault addresses, from the System Control Block.
    const std::uint32_t cfsr = *reinterpret_cast<volatile std::uint32_t*>(0xE000ED28);
    const std::uint32_t hfsr = *reinterpret_cast<volatile std::uint32_t*>(0xE000ED2C);
    const std::uint32_t bfar = *reinterpret_cast<volatile std::uint32_t*>(0xE000ED38);
    mps2_an386::semihosting::write("mps2-an386: exception ");
    write_number(exception_number, 10);
    mps2_an386::semihosting::write(" (3 HardFault, 4 MemManage, 5 BusFault, 6 UsageFault), CFSR 0x");
    write_number(cfsr, 16);
    mps2_an386::semihosting::write(", HFSR 0x");
    write_number(hfsr, 16);
    mps2_an386::semihosting::write(", BFAR 0x");
    write_number(bfar, 16);
    mps2_an386::semihosting::write("\n");
    mps2_an386::semihosting::exit(mps2_an386::exit_status_fault);
}

extern "C" {

// The heap is the RAM between .bss and the end of RAM (see mps2-an386.ld). This replaces
// librdimon's _sbrk, which compares against the stack pointer and would fail every request
// because the stack lies below the heap here.
void* _sbrk(std::ptrdiff_t increment) {
    static char* heap_top = __heap_start__;
    if (increment > __heap_end__ - heap_top || increment < __heap_start__ - heap_top) {
        errno = ENOMEM;
        return reinterpret_cast<void*>(-1);
    }
    char* const previous_top = heap_top;
    heap_top += increment;
    return previous_top;
}

}  // extern "C"

std::size_t mps2_an386::stack_size() noexcept {
    return static_cast<std::size_t>(__stack_top__ - __stack_bottom__) * sizeof(std::uint32_t);
}

std::size_t mps2_an386::stack_bytes_used() noexcept {
    const std::uint32_t* p = __stack_bottom__;
    while (p < __stack_top__ && *p == stack_paint) ++p;
    return static_cast<std::size_t>(__stack_top__ - p) * sizeof(std::uint32_t);
}

// Vector table: the initial stack pointer, the reset handler, then 14 system exceptions and the 32
// external interrupts of the AN386 image. Programs here enable no interrupts, so every entry but
// reset goes to the fault report. AN500 has more interrupts, which stay disabled.
namespace {

using Handler = void (*)();
constexpr std::size_t vector_count = 16 + 32;

struct VectorTable {
    std::uint32_t* initial_stack_pointer;
    Handler handlers[vector_count - 1];
};

constexpr VectorTable make_vector_table() {
    VectorTable table{__stack_top__, {}};
    table.handlers[0] = Reset_Handler;
    for (std::size_t i = 1; i < vector_count - 1; ++i) table.handlers[i] = microfit_port_fault_entry;
    return table;
}

}  // namespace

extern const VectorTable microfit_port_vector_table;
__attribute__((section(".isr_vector"), used)) const VectorTable microfit_port_vector_table = make_vector_table();
