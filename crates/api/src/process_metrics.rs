//! The process's own gauges (memory, CPU, file descriptors, threads, start time), read from
//! Linux's `/proc/self` when `/metrics` is scraped: a few small file reads, no dependency. On a
//! system without `/proc` the gauges are simply absent.

use std::sync::OnceLock;

/// Clock ticks per second in `/proc`'s CPU times: `USER_HZ`, fixed at 100 by the kernel's ABI
/// on every architecture Linux exposes it to userspace (whatever the kernel's internal HZ).
const USER_HZ: f64 = 100.0;

/// Sets every process gauge from `/proc/self`; a value that cannot be read is left as it was.
pub fn record() {
    if let Some(stat) = Stat::read() {
        metrics::gauge!("process_cpu_seconds_total").set(stat.cpu_ticks as f64 / USER_HZ);
        metrics::gauge!("process_threads").set(stat.threads as f64);
        metrics::gauge!("process_virtual_memory_bytes").set(stat.virtual_bytes as f64);
    }
    if let Some(bytes) = resident_bytes() {
        metrics::gauge!("process_resident_memory_bytes").set(bytes as f64);
    }
    if let Some(open) = open_fds() {
        metrics::gauge!("process_open_fds").set(open as f64);
    }
    if let Some(max) = max_fds() {
        metrics::gauge!("process_max_fds").set(max as f64);
    }
    if let Some(start) = start_time_seconds() {
        metrics::gauge!("process_start_time_seconds").set(start);
    }
}

/// What `/proc/self/stat` says of the whole process (all threads).
struct Stat {
    /// User plus system CPU time, in `USER_HZ` ticks.
    cpu_ticks: u64,
    threads: u64,
    virtual_bytes: u64,
    /// When the process started, in ticks since boot.
    start_ticks: u64,
}

impl Stat {
    fn read() -> Option<Self> {
        Self::parse(&std::fs::read_to_string("/proc/self/stat").ok()?)
    }

    /// The command name (field 2) is in parentheses and may itself hold spaces and
    /// parentheses, so fields are counted from the last `)`: there, field 3 is the first.
    fn parse(text: &str) -> Option<Self> {
        let (_, rest) = text.rsplit_once(')')?;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let field = |number: usize| -> Option<u64> { fields.get(number - 3)?.parse().ok() };
        Some(Self {
            cpu_ticks: field(14)?.checked_add(field(15)?)?,
            threads: field(20)?,
            start_ticks: field(22)?,
            virtual_bytes: field(23)?,
        })
    }
}

/// `VmRSS` of `/proc/self/status`, in kB there: no page size to know.
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kilobytes: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    kilobytes.checked_mul(1024)
}

fn open_fds() -> Option<usize> {
    Some(std::fs::read_dir("/proc/self/fd").ok()?.count())
}

/// The soft limit on open files (`Max open files` in `/proc/self/limits`).
fn max_fds() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    limits
        .lines()
        .find_map(|line| line.strip_prefix("Max open files"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Boot time (`btime` of `/proc/stat`) plus the process's start in ticks since boot, in Unix
/// seconds; it never changes, so it is read once.
fn start_time_seconds() -> Option<f64> {
    static START: OnceLock<Option<f64>> = OnceLock::new();
    *START.get_or_init(|| {
        let boot: u64 = std::fs::read_to_string("/proc/stat")
            .ok()?
            .lines()
            .find_map(|line| line.strip_prefix("btime "))?
            .trim()
            .parse()
            .ok()?;
        Some(boot as f64 + Stat::read()?.start_ticks as f64 / USER_HZ)
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::Stat;

    #[test]
    fn a_command_name_with_spaces_and_parentheses_does_not_shift_the_fields() {
        let line = "4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 900 0 0 0 \
                    250 50 0 0 20 0 7 0 12345 104857600 2048 18446744073709551615";
        let stat = Stat::parse(line).unwrap();
        assert_eq!(stat.cpu_ticks, 300);
        assert_eq!(stat.threads, 7);
        assert_eq!(stat.start_ticks, 12345);
        assert_eq!(stat.virtual_bytes, 104_857_600);
    }
}
