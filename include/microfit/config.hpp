// Compile-time switches and the assertion hook.
//
// MICROFIT_NO_STATUS_TEXT   strips the text of every status message to save flash; `Status::format`
//                           then writes only the status name.
// MICROFIT_FORCE_SCALAR     uses the scalar path of the SIMD layer even where SIMD is available.
// MICROFIT_ASSERT_HANDLER   the name of a function `void f(const char* expression, const char* file,
//                           int line)` that receives failed internal assertions. It must not return.
//                           Without it, a failed assertion calls std::abort.
// MICROFIT_DISABLE_ASSERTS  compiles the internal assertions out.
#pragma once

#include <cstdlib>

#if defined(MICROFIT_ASSERT_HANDLER)
void MICROFIT_ASSERT_HANDLER(const char* expression, const char* file, int line);
#endif

namespace microfit::detail {

[[noreturn]] inline void assertion_failed(const char* expression, const char* file, int line) noexcept {
#if defined(MICROFIT_ASSERT_HANDLER)
    MICROFIT_ASSERT_HANDLER(expression, file, line);
#else
    (void)expression;
    (void)file;
    (void)line;
#endif
    std::abort();
}

}  // namespace microfit::detail

/// Checks a precondition that the library itself guarantees (a programmer error if it fails).
/// Bad data never reaches one of these: it is rejected with a `Status` at the public boundary.
#if defined(MICROFIT_DISABLE_ASSERTS)
#define MICROFIT_ASSERT(expression) static_cast<void>(0)
#else
#define MICROFIT_ASSERT(expression) \
    ((expression) ? static_cast<void>(0) : ::microfit::detail::assertion_failed(#expression, __FILE__, __LINE__))
#endif
