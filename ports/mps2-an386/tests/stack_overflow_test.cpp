// Writes a 6000-byte local array on a 4 KiB stack (set in CMakeLists.txt). The loop needs no
// further stack, so the program returns normally, and the test expects the port's overflow check
// to catch it: exit status 103 and the overflow message.

namespace {

__attribute__((noinline)) int fill_large_frame(int count) {
    volatile unsigned char buffer[6000];
    for (int i = 0; i < count; ++i) buffer[i] = static_cast<unsigned char>(i);
    return buffer[count - 1];
}

}  // namespace

int main() { return fill_large_frame(6000) == (5999 & 0xFF) ? 0 : 1; }
