// Returns 3 from main: the test passes only if exactly that status reaches the host, which proves
// that a failing firmware test cannot be reported as passed.
int main() { return 3; }
