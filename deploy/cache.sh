# Sourced by the install scripts (deploy/install-*.sh, deploy/kafka/install-tansu.sh):
# where the tools they install are kept, and one install at a time.
#
# FLOODLIGHT_CACHE (default ~/.cache/floodlight) chooses the directory.
cache="${FLOODLIGHT_CACHE:-$HOME/.cache/floodlight}"

# lock_cache NAME: create the cache directory, wait while another install
# holds NAME's lock (CI starts some installs early, in the background), then
# hold it until the script exits. Without flock, no waiting.
lock_cache() {
    mkdir -p "$cache"
    if command -v flock >/dev/null 2>&1; then
        exec 9>"$cache/$1.lock"
        flock 9
    fi
}

# install_crate NAME VERSION [--path]: the binary NAME of crate NAME at
# VERSION from crates.io (`cargo install --locked`), installed once per
# machine into "$cache/NAME-VERSION" (a second caller waits for the first);
# prints the binary's path. With --path, only prints where it is or would be.
install_crate() {
    local name=$1 version=$2
    local root="$cache/$name-$version"
    local bin="$root/bin/$name"
    if [[ "${3:-}" == "--path" ]]; then
        echo "$bin"
        return 0
    fi
    lock_cache "$name-$version"
    if [[ ! -x "$bin" ]]; then
        echo "installing $name $version into $root (once per machine)" >&2
        mkdir -p "$root"
        CARGO_TARGET_DIR="$cache/$name-build" cargo install "$name" --version "$version" --locked \
            --root "$root" >&2
        rm -rf "$cache/$name-build"
    fi
    echo "$bin"
}
