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
