// Calls malloc in an image linked with the heap trap: the test expects the trap's message and exit
// status 102 instead of a pointer.
#include <cstdlib>

int main() {
    void* volatile pointer = std::malloc(16);
    return pointer == nullptr ? 0 : 1;
}
