//! CPU time and peak memory of the processes under test, read from `/proc` (Linux).

use std::fs;

/// `/proc/<pid>/stat` counts in clock ticks; USER_HZ is 100 on every Linux architecture we run on.
const TICKS_PER_SECOND: f64 = 100.0;

struct Stat {
    ppid: u32,
    /// utime + stime
    own: u64,
    /// cutime + cstime: children that have exited and been waited for.
    children: u64,
}

fn stat(pid: u32) -> Option<Stat> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain spaces: split after the last ')'.
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields after the name, 0-based: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14).
    let num = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    Some(Stat {
        ppid: num(1)? as u32,
        own: num(11)? + num(12)?,
        children: num(13)? + num(14)?,
    })
}

/// CPU seconds used so far by `pid` alone.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    stat(pid).map(|s| s.own as f64 / TICKS_PER_SECOND)
}

/// CPU seconds used so far by `pid`, its live children, and its children that have exited: a
/// PostgreSQL postmaster and all its backends and helpers.
pub fn tree_cpu_seconds(pid: u32) -> Option<f64> {
    let root = stat(pid)?;
    let mut ticks = root.own + root.children;
    for entry in fs::read_dir("/proc").ok()?.flatten() {
        let Some(child) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if let Some(s) = stat(child).filter(|s| s.ppid == pid) {
            ticks += s.own;
        }
    }
    Some(ticks as f64 / TICKS_PER_SECOND)
}

/// The peak resident set size (`VmHWM`) in bytes.
pub fn peak_rss_bytes(pid: u32) -> Option<u64> {
    status_kib(pid, "VmHWM:").map(|k| k * 1024)
}

fn status_kib(pid: u32, key: &str) -> Option<u64> {
    let text = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].split_whitespace().next()?.parse().ok()
}

/// This process's own CPU seconds so far.
pub fn self_cpu_seconds() -> Option<f64> {
    cpu_seconds(std::process::id())
}

/// CPU seconds the whole machine has spent busy so far (every core, every process), and the
/// seconds the hypervisor gave to someone else while this machine wanted to run ("steal").
pub fn machine_busy_and_steal_seconds() -> Option<(f64, f64)> {
    let text = fs::read_to_string("/proc/stat").ok()?;
    let line = text.lines().next()?.strip_prefix("cpu ")?;
    let ticks: Vec<u64> = line
        .split_whitespace()
        .filter_map(|f| f.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is already inside user).
    let busy: u64 = ticks.iter().take(7).sum::<u64>() - ticks.get(3)? - ticks.get(4)?;
    let steal = *ticks.get(7)?;
    Some((
        busy as f64 / TICKS_PER_SECOND,
        steal as f64 / TICKS_PER_SECOND,
    ))
}
