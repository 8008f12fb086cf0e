// Executes a permanently undefined instruction: the test expects the fault report and exit status
// 101, so that a crash in a firmware test fails instead of hanging until the timeout.
int main() {
    asm volatile("udf #0");
    return 0;
}
