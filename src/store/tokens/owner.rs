//! Who holds a refresh lease, and whether it may still be working: `lease_owner` names a
//! host and a process, and only a process on this host can be checked.

use once_cell::sync::Lazy;

/// This process's identity in `lease_owner`: `host/pid/nonce`.
pub fn process_owner() -> &'static str {
    static OWNER: Lazy<String> = Lazy::new(|| {
        use rand::Rng;
        let nonce: u64 = rand::thread_rng().gen();
        format!("{}/{}/{nonce:016x}", host_name(), std::process::id())
    });
    &OWNER
}

fn host_name() -> String {
    #[cfg(unix)]
    {
        let mut buf = [0u8; 256];
        // SAFETY: the buffer is writable for its whole length; gethostname NUL-terminates
        // on success (we also stop at the buffer end).
        let rc = unsafe { libc::gethostname(buf.as_mut_ptr() as *mut libc::c_char, buf.len()) };
        if rc == 0 {
            let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
            return String::from_utf8_lossy(&buf[..end]).replace('/', "_");
        }
        "unknown".into()
    }
    #[cfg(not(unix))]
    {
        std::env::var("COMPUTERNAME")
            .unwrap_or_else(|_| "unknown".into())
            .replace('/', "_")
    }
}

/// Whether the holder of a lease may still be working. Only a process on this host can be
/// checked; a lease of this very process is stale by construction (the caller holds the
/// process-wide refresh lock for the profile, so no other thread of ours is refreshing).
pub(in crate::store) fn owner_may_be_alive(owner: &str) -> bool {
    let mine = process_owner();
    if owner == mine {
        return false;
    }
    let mut parts = owner.splitn(3, '/');
    let (host, pid) = match (parts.next(), parts.next()) {
        (Some(h), Some(p)) => (h, p.parse::<u32>().ok()),
        _ => return true,
    };
    let my_host = mine.split('/').next().unwrap_or_default();
    if host != my_host {
        return true;
    }
    match pid {
        Some(pid) if pid == std::process::id() => false,
        Some(pid) => pid_alive(pid),
        None => true,
    }
}

#[cfg(unix)]
fn pid_alive(pid: u32) -> bool {
    if pid == 0 || pid > i32::MAX as u32 {
        return true;
    }
    // SAFETY: signal 0 only checks for existence and permission; it sends nothing.
    let rc = unsafe { libc::kill(pid as libc::pid_t, 0) };
    let exists = rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    // A process that ended but that its parent has not reaped yet (a zombie) still
    // answers signal 0, and will never finish its refresh.
    exists && !zombie(pid)
}

/// Linux: the state field of /proc/<pid>/stat is `Z` (after the command, which is in
/// parentheses and may itself hold spaces or parentheses).
#[cfg(unix)]
pub(super) fn zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|st| {
            st.rfind(')')
                .map(|i| st[i + 1..].trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

#[cfg(windows)]
fn pid_alive(pid: u32) -> bool {
    use windows::Win32::Foundation::{CloseHandle, STILL_ACTIVE};
    use windows::Win32::System::Threading::{
        GetExitCodeProcess, OpenProcess, PROCESS_QUERY_LIMITED_INFORMATION,
    };
    // SAFETY: OpenProcess only queries; the handle is closed before returning and
    // `code` is a valid place for the exit code.
    unsafe {
        match OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, false, pid) {
            Ok(h) => {
                let mut code = 0u32;
                let r = GetExitCodeProcess(h, &mut code);
                let _ = CloseHandle(h);
                r.is_err() || code == STILL_ACTIVE.0 as u32
            }
            // ERROR_INVALID_PARAMETER: no such process. Anything else (access denied for
            // another user's process on a terminal server): assume alive, the lease lapses
            // by its time limit.
            Err(e) => e.code().0 as u32 != 0x8007_0057,
        }
    }
}

#[cfg(not(any(unix, windows)))]
fn pid_alive(_pid: u32) -> bool {
    // Not checked on this platform: the lease lapses by its time limit.
    true
}
