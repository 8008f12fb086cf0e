// Heap trap: replaces malloc, its relatives and the global operator new and delete so that any
// heap use stops the program with a message and exit status 102 (exit_status_heap_used).
//
// microfit's core promises not to use the heap. Linking this file into a firmware image turns
// that promise into a test: a hidden allocation in the library, libstdc++ or newlib fails loudly
// instead of working until the heap runs out on a real device. Freeing a null pointer stays legal;
// freeing anything else is reported too, since nothing could have been allocated.
//
// newlib calls the reentrant forms (_malloc_r and so on) internally, for example from stdio, so
// those are replaced as well. Without them a call from inside newlib would reach newlib's own
// allocator unnoticed.

#include <cstddef>
#include <cstdint>
#include <new>

#include "board.hpp"
#include "semihosting.hpp"

namespace {

/// Reports the call and stops. `caller` is the return address into the calling code; look it up
/// with `arm-none-eabi-addr2line -f -e IMAGE.elf ADDRESS`.
[[noreturn]] void report_heap_use(const char* function, const void* caller) noexcept {
    mps2_an386::semihosting::write("mps2-an386: heap use trapped: ");
    mps2_an386::semihosting::write(function);
    mps2_an386::semihosting::write(" was called from 0x");
    char digits[9];
    auto address = reinterpret_cast<std::uintptr_t>(caller);
    for (int i = 7; i >= 0; --i) {
        digits[i] = "0123456789abcdef"[address & 0xF];
        address >>= 4;
    }
    digits[8] = '\0';
    mps2_an386::semihosting::write(digits);
    mps2_an386::semihosting::write(", but this image links the heap trap\n");
    mps2_an386::semihosting::exit(mps2_an386::exit_status_heap_used);
}

void check_free(const void* pointer, const char* function, const void* caller) noexcept {
    if (pointer != nullptr) report_heap_use(function, caller);
}

}  // namespace

extern "C" {

struct _reent;

void* malloc(std::size_t) { report_heap_use("malloc", __builtin_return_address(0)); }
void* calloc(std::size_t, std::size_t) { report_heap_use("calloc", __builtin_return_address(0)); }
void* realloc(void*, std::size_t) { report_heap_use("realloc", __builtin_return_address(0)); }
void* memalign(std::size_t, std::size_t) { report_heap_use("memalign", __builtin_return_address(0)); }
void* aligned_alloc(std::size_t, std::size_t) { report_heap_use("aligned_alloc", __builtin_return_address(0)); }
int posix_memalign(void**, std::size_t, std::size_t) { report_heap_use("posix_memalign", __builtin_return_address(0)); }
void free(void* pointer) { check_free(pointer, "free", __builtin_return_address(0)); }

void* _malloc_r(_reent*, std::size_t) { report_heap_use("_malloc_r", __builtin_return_address(0)); }
void* _calloc_r(_reent*, std::size_t, std::size_t) { report_heap_use("_calloc_r", __builtin_return_address(0)); }
void* _realloc_r(_reent*, void*, std::size_t) { report_heap_use("_realloc_r", __builtin_return_address(0)); }
void* _memalign_r(_reent*, std::size_t, std::size_t) { report_heap_use("_memalign_r", __builtin_return_address(0)); }
void _free_r(_reent*, void* pointer) { check_free(pointer, "_free_r", __builtin_return_address(0)); }

}  // extern "C"

void* operator new(std::size_t) { report_heap_use("operator new", __builtin_return_address(0)); }
void* operator new[](std::size_t) { report_heap_use("operator new[]", __builtin_return_address(0)); }
void* operator new(std::size_t, const std::nothrow_t&) noexcept { report_heap_use("operator new", __builtin_return_address(0)); }
void* operator new[](std::size_t, const std::nothrow_t&) noexcept { report_heap_use("operator new[]", __builtin_return_address(0)); }
void* operator new(std::size_t, std::align_val_t) { report_heap_use("operator new", __builtin_return_address(0)); }
void* operator new[](std::size_t, std::align_val_t) { report_heap_use("operator new[]", __builtin_return_address(0)); }
void* operator new(std::size_t, std::align_val_t, const std::nothrow_t&) noexcept { report_heap_use("operator new", __builtin_return_address(0)); }
void* operator new[](std::size_t, std::align_val_t, const std::nothrow_t&) noexcept { report_heap_use("operator new[]", __builtin_return_address(0)); }

void operator delete(void* pointer) noexcept { check_free(pointer, "operator delete", __builtin_return_address(0)); }
void operator delete[](void* pointer) noexcept { check_free(pointer, "operator delete[]", __builtin_return_address(0)); }
void operator delete(void* pointer, std::size_t) noexcept { check_free(pointer, "operator delete", __builtin_return_address(0)); }
void operator delete[](void* pointer, std::size_t) noexcept { check_free(pointer, "operator delete[]", __builtin_return_address(0)); }
void operator delete(void* pointer, std::align_val_t) noexcept { check_free(pointer, "operator delete", __builtin_return_address(0)); }
void operator delete[](void* pointer, std::align_val_t) noexcept { check_free(pointer, "operator delete[]", __builtin_return_address(0)); }
void operator delete(void* pointer, std::size_t, std::align_val_t) noexcept { check_free(pointer, "operator delete", __builtin_return_address(0)); }
void operator delete[](void* pointer, std::size_t, std::align_val_t) noexcept { check_free(pointer, "operator delete[]", __builtin_return_address(0)); }
void operator delete(void* pointer, const std::nothrow_t&) noexcept { check_free(pointer, "operator delete", __builtin_return_address(0)); }
void operator delete[](void* pointer, const std::nothrow_t&) noexcept { check_free(pointer, "operator delete[]", __builtin_return_address(0)); }
void operator delete(void* pointer, std::align_val_t, const std::nothrow_t&) noexcept { check_free(pointer, "operator delete", __builtin_return_address(0)); }
void operator delete[](void* pointer, std::align_val_t, const std::nothrow_t&) noexcept { check_free(pointer, "operator delete[]", __builtin_return_address(0)); }
