# Sourced by tools/demo.sh and tools/test.sh: installs the Debian packages a step needs.
#
# require_packages PACKAGE... installs the missing ones with apt-get when running as root (or
# through sudo without a password); otherwise it prints the exact apt-get line and exits.

require_packages() {
    local missing=()
    local package
    for package in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
            missing+=("$package")
        fi
    done
    [ "${#missing[@]}" -eq 0 ] && return 0

    local apt=(apt-get)
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            apt=(sudo apt-get)
        else
            echo "Missing Debian packages. Install them with:" >&2
            echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
            exit 1
        fi
    fi
    echo "Installing missing Debian packages: ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive "${apt[@]}" update -qq
    DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Packages of the host build: compiler, CMake, the SIMD and test libraries.
core_packages=(g++ cmake make ninja-build libxsimd-dev doctest-dev)
# The weight-exchange tools and their PyTorch comparison test.
python_packages=(python3 python3-numpy python3-torch)
# Cross compilers and emulators for the ARM targets.
linux_cross_packages=(g++-aarch64-linux-gnu g++-arm-linux-gnueabihf qemu-user)
# Bare-metal compiler, newlib and the board emulator; python3 for the firmware size report.
firmware_packages=(gcc-arm-none-eabi libstdc++-arm-none-eabi-newlib libnewlib-arm-none-eabi qemu-system-arm python3)
# Sanitizers and fuzzers.
clang_packages=(clang libclang-rt-14-dev)
