//! Process-wide memory settings the pipeline is sized and measured with.
//!
//! **Transparent huge pages are turned off for the process.** Where the
//! kernel offers them (`/sys/kernel/mm/transparent_hugepage/enabled` set to
//! `always`, or `madvise`, which mimalloc uses to ask for them), the heap is
//! backed by 2 MiB pages, and a huge page is resident whole as soon as any
//! byte of it is. The pipeline's heap is mostly batches that one thread
//! builds and another frees, so it keeps many partly used huge pages: on the
//! end-to-end bench (1M FortiGate lines, one worker, `benches/RESULTS.md`)
//! peak RSS was 413–441 MiB with them and 336–364 MiB without, for the same
//! CPU time. `floodlight` and the benches call [`disable_transparent_huge_pages`]
//! first thing; set `MIMALLOC_ALLOW_THP=1` in the environment to keep them.

/// Turn transparent huge pages off for this process (Linux; elsewhere
/// nothing to do), unless `MIMALLOC_ALLOW_THP` is set, in which case
/// mimalloc's own handling of it stands. Returns whether they were turned
/// off by this call. Pages already backed by huge pages stay so; every
/// later fault gets a normal page.
pub fn disable_transparent_huge_pages() -> bool {
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_some() {
        return false;
    }
    set_thp_disable()
}

#[cfg(target_os = "linux")]
fn set_thp_disable() -> bool {
    prctl(libc::PR_SET_THP_DISABLE, 1) == 0
}

#[cfg(not(target_os = "linux"))]
fn set_thp_disable() -> bool {
    false
}

/// `prctl(option, arg, 0, 0, 0)`.
#[cfg(target_os = "linux")]
fn prctl(option: libc::c_int, arg: libc::c_ulong) -> libc::c_int {
    // SAFETY: the options used here (PR_SET_THP_DISABLE, PR_GET_THP_DISABLE)
    // take integer arguments only and set or read a flag of this process;
    // they touch no memory of ours.
    unsafe { libc::prctl(option, arg, 0 as libc::c_ulong, 0 as libc::c_ulong, 0 as libc::c_ulong) }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn huge_pages_are_off_after_the_call_unless_the_environment_keeps_them() {
        if std::env::var_os("MIMALLOC_ALLOW_THP").is_some() {
            assert!(!disable_transparent_huge_pages(), "the environment asks to keep them");
            return;
        }
        assert!(disable_transparent_huge_pages(), "prctl(PR_SET_THP_DISABLE) failed");
        assert_eq!(prctl(libc::PR_GET_THP_DISABLE, 0), 1, "the kernel does not report the flag set");
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        if let Some(line) = status.lines().find(|l| l.starts_with("THP_enabled:")) {
            assert!(line.ends_with('0'), "{line}");
        }
    }
}
