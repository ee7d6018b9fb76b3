//! Profiling (design.md §8): every tier-up, OSR entry, compile job, trap and policy decision
//! is a timestamped event. Outputs: a summary table, JSON lines, and the Chrome trace event
//! format (opens in Perfetto).

use super::policy::TierLevel;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A function across the engine: its module's id and its index there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FuncKey {
    /// The module's id in the engine.
    pub module: u64,
    /// The function's index in the module.
    pub func_index: u32,
}

/// What happened.
#[derive(Clone, Debug, PartialEq)]
pub enum EventKind {
    /// A policy decided to compile.
    CompileQueued {
        /// The tier asked for.
        tier: TierLevel,
        /// Why (the policy's word).
        reason: &'static str,
        /// Jobs waiting in the queue, this one included (0 for a synchronous compile).
        queue_len: usize,
    },
    /// A compile job finished (`code_size` is `None` when it failed).
    Compiled {
        /// The tier compiled for.
        tier: TierLevel,
        /// Time in the queue.
        queue_wait: Duration,
        /// Time compiling.
        compile_time: Duration,
        /// Bytes of machine code.
        code_size: Option<usize>,
    },
    /// The function's code slot now points at `to`.
    TierUp {
        /// The tier before.
        from: TierLevel,
        /// The tier after.
        to: TierLevel,
    },
    /// A running loop moved to `tier` at the loop whose ordinal (position among the body's
    /// `loop` operators) is `loop_header`.
    OsrEntry {
        /// The tier entered.
        tier: TierLevel,
        /// The loop's ordinal.
        loop_header: u32,
        /// The tier the frame left.
        from: TierLevel,
    },
    /// Execution trapped.
    Trap {
        /// The trap's message.
        message: String,
    },
}

/// One timestamped event.
#[derive(Clone, Debug)]
pub struct Event {
    /// Since the profiler started.
    pub at: Duration,
    /// The thread it happened on.
    pub thread: String,
    /// The function, when the event is about one.
    pub func: Option<FuncKey>,
    /// What happened.
    pub kind: EventKind,
}

/// Collects events; shared by the executing thread and the compile threads.
pub struct Profiler {
    start: Instant,
    events: Mutex<Vec<Event>>,
    /// Nanoseconds spent executing in each tier, then in host functions (`TIME_BUCKETS`).
    tier_ns: [AtomicU64; 4],
    names: Mutex<HashMap<FuncKey, String>>,
}

impl Default for Profiler {
    fn default() -> Self {
        Self::new()
    }
}

/// One row of the summary, per function.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FuncRow {
    /// The function (`None`: events not about one function).
    pub func: Option<FuncKey>,
    /// Its name for the report.
    pub name: String,
    /// Calls counted.
    pub calls: u64,
    /// Loop iterations counted.
    pub loop_iterations: u64,
    /// The tier it ended in.
    pub tier: Option<TierLevel>,
    /// From the start of the run to the first tier-up.
    pub time_to_tier_up: Option<Duration>,
    /// Total time its jobs waited in the queue.
    pub queue_wait: Duration,
    /// Total time compiling it.
    pub compile_time: Duration,
    /// Bytes of machine code.
    pub code_size: usize,
    /// OSR entries.
    pub osr_entries: u64,
    /// Compile jobs that failed.
    pub failed_compiles: u64,
}

/// What `ProfileSummary::tier_time` measures, by index: the three tiers, then host functions
/// called from wasm.
pub const TIME_BUCKETS: [&str; 4] = ["interp", "baseline", "opt", "host"];

/// The profile of a run, per function and per tier.
#[derive(Clone, Debug, Default)]
pub struct ProfileSummary {
    /// One row per function.
    pub funcs: Vec<FuncRow>,
    /// Execution time by `TIME_BUCKETS`.
    pub tier_time: [Duration; 4],
    /// Compile jobs per tier compiled for, in tier order.
    pub compiles: Vec<LevelCompiles>,
    /// OSR entries per (source tier, target tier), in order.
    pub osr: Vec<(TierLevel, TierLevel, u64)>,
}

/// The compile jobs of one tier in a run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LevelCompiles {
    /// The tier compiled for.
    pub tier: Option<TierLevel>,
    /// Jobs finished (OSR entries compiled on their own included).
    pub jobs: u64,
    /// Jobs that failed.
    pub failed: u64,
    /// Total time the jobs waited in the queue.
    pub queue_wait: Duration,
    /// Total time compiling.
    pub compile_time: Duration,
}

impl Profiler {
    /// A profiler whose clock starts now.
    pub fn new() -> Self {
        Profiler {
            start: Instant::now(),
            events: Mutex::new(Vec::new()),
            tier_ns: Default::default(),
            names: Mutex::new(HashMap::new()),
        }
    }

    /// Records an event now, on the current thread.
    pub fn record(&self, func: Option<FuncKey>, kind: EventKind) {
        let event = Event {
            at: self.start.elapsed(),
            thread: std::thread::current().name().unwrap_or("main").to_string(),
            func,
            kind,
        };
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(event);
    }

    /// Names functions in reports (from the name section).
    pub fn name_func(&self, func: FuncKey, name: impl Into<String>) {
        self.names
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(func, name.into());
    }

    /// Adds execution time in `tier`.
    pub fn add_tier_time(&self, tier: TierLevel, d: Duration) {
        self.add_bucket_time(tier as usize, d);
    }

    /// Adds to bucket `i` of `TIME_BUCKETS` (3: host functions).
    pub fn add_bucket_time(&self, i: usize, d: Duration) {
        if let Some(ns) = self.tier_ns.get(i) {
            ns.fetch_add(d.as_nanos() as u64, Ordering::Relaxed);
        }
    }

    /// Every event so far, in order.
    pub fn events(&self) -> Vec<Event> {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn name_of(&self, func: FuncKey) -> String {
        self.names
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&func)
            .cloned()
            .unwrap_or_else(|| format!("func {}", func.func_index))
    }

    /// Folds the events into per-function rows. `counts` gives each function's call and
    /// loop-iteration counters (read from the tiers at the end of the run).
    pub fn summary(&self, counts: &[(FuncKey, u64, u64)]) -> ProfileSummary {
        let mut rows: HashMap<FuncKey, FuncRow> = HashMap::new();
        let row = |rows: &mut HashMap<FuncKey, FuncRow>, f: FuncKey| {
            rows.entry(f)
                .or_insert_with(|| FuncRow {
                    func: Some(f),
                    name: self.name_of(f),
                    tier: Some(TierLevel::Interp),
                    ..Default::default()
                })
                .clone()
        };
        for &(f, calls, loops) in counts {
            let mut r = row(&mut rows, f);
            r.calls = calls;
            r.loop_iterations = loops;
            rows.insert(f, r);
        }
        for e in self.events() {
            let Some(f) = e.func else { continue };
            let mut r = row(&mut rows, f);
            match e.kind {
                EventKind::Compiled {
                    queue_wait,
                    compile_time,
                    code_size,
                    ..
                } => {
                    r.queue_wait += queue_wait;
                    r.compile_time += compile_time;
                    match code_size {
                        Some(size) => r.code_size += size,
                        None => r.failed_compiles += 1,
                    }
                }
                EventKind::TierUp { to, .. } => {
                    r.time_to_tier_up.get_or_insert(e.at);
                    r.tier = Some(r.tier.map_or(to, |t| t.max(to)));
                }
                EventKind::OsrEntry { .. } => r.osr_entries += 1,
                _ => {}
            }
            rows.insert(f, r);
        }
        let mut funcs: Vec<FuncRow> = rows.into_values().collect();
        funcs.sort_by(|a, b| {
            (b.calls + b.loop_iterations)
                .cmp(&(a.calls + a.loop_iterations))
                .then(a.func.cmp(&b.func))
        });
        let tier_time =
            std::array::from_fn(|i| Duration::from_nanos(self.tier_ns[i].load(Ordering::Relaxed)));
        let mut compiles: Vec<LevelCompiles> = Vec::new();
        let mut osr: Vec<(TierLevel, TierLevel, u64)> = Vec::new();
        for e in self.events() {
            match e.kind {
                EventKind::Compiled {
                    tier,
                    queue_wait,
                    compile_time,
                    code_size,
                } => {
                    let i = match compiles.iter().position(|c| c.tier == Some(tier)) {
                        Some(i) => i,
                        None => {
                            compiles.push(LevelCompiles {
                                tier: Some(tier),
                                ..Default::default()
                            });
                            compiles.len() - 1
                        }
                    };
                    let c = &mut compiles[i];
                    c.jobs += 1;
                    c.failed += code_size.is_none() as u64;
                    c.queue_wait += queue_wait;
                    c.compile_time += compile_time;
                }
                EventKind::OsrEntry { tier, from, .. } => {
                    match osr.iter_mut().find(|(f, t, _)| (*f, *t) == (from, tier)) {
                        Some(o) => o.2 += 1,
                        None => osr.push((from, tier, 1)),
                    }
                }
                _ => {}
            }
        }
        compiles.sort_by_key(|c| c.tier);
        osr.sort_unstable();
        ProfileSummary {
            funcs,
            tier_time,
            compiles,
            osr,
        }
    }

    /// One JSON object per line per event.
    pub fn write_json_lines(&self, out: &mut impl Write) -> io::Result<()> {
        for e in self.events() {
            let mut line = format!(
                "{{\"ts_us\":{},\"thread\":{}",
                e.at.as_micros(),
                json_str(&e.thread)
            );
            if let Some(f) = e.func {
                let _ = write!(
                    line,
                    ",\"module\":{},\"func\":{},\"name\":{}",
                    f.module,
                    f.func_index,
                    json_str(&self.name_of(f))
                );
            }
            let _ = write!(line, ",{}}}", kind_json(&e.kind));
            writeln!(out, "{line}")?;
        }
        // Last, the time per tier so far (sampled, see `TIME_BUCKETS`).
        let mut line = format!(
            "{{\"ts_us\":{},\"kind\":\"tier-time\"",
            self.start.elapsed().as_micros()
        );
        for (i, name) in TIME_BUCKETS.iter().enumerate() {
            let us = self.tier_ns[i].load(Ordering::Relaxed) / 1000;
            let _ = write!(line, ",\"{name}_us\":{us}");
        }
        writeln!(out, "{line}}}")
    }

    /// The Chrome trace event format: compile jobs as duration events on their threads,
    /// tier-ups, OSR entries and traps as instant events.
    pub fn write_chrome_trace(&self, out: &mut impl Write) -> io::Result<()> {
        let mut threads: Vec<String> = Vec::new();
        let mut tid = |name: &str| match threads.iter().position(|t| t == name) {
            Some(i) => i + 1,
            None => {
                threads.push(name.to_string());
                threads.len()
            }
        };
        let mut items = Vec::new();
        for e in self.events() {
            let name = e.func.map(|f| self.name_of(f)).unwrap_or_default();
            let t = tid(&e.thread);
            let ts = e.at.as_micros();
            let item = match &e.kind {
                EventKind::Compiled {
                    tier, compile_time, ..
                } => format!(
                    "{{\"name\":{},\"cat\":\"compile\",\"ph\":\"X\",\"ts\":{},\"dur\":{},\
                     \"pid\":1,\"tid\":{t},\"args\":{{{}}}}}",
                    json_str(&format!("compile {tier} {name}")),
                    ts.saturating_sub(compile_time.as_micros()),
                    compile_time.as_micros().max(1),
                    kind_json(&e.kind)
                ),
                other => format!(
                    "{{\"name\":{},\"cat\":\"tiering\",\"ph\":\"i\",\"s\":\"t\",\"ts\":{ts},\
                     \"pid\":1,\"tid\":{t},\"args\":{{{}}}}}",
                    json_str(&format!("{} {name}", kind_name(other))),
                    kind_json(other)
                ),
            };
            items.push(item);
        }
        for (i, name) in threads.iter().enumerate() {
            items.push(format!(
                "{{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":{},\
                 \"args\":{{\"name\":{}}}}}",
                i + 1,
                json_str(name)
            ));
        }
        writeln!(out, "{{\"traceEvents\":[\n{}\n]}}", items.join(",\n"))
    }
}

impl ProfileSummary {
    /// The terminal table.
    pub fn render(&self, top: usize) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{:<28} {:>10} {:>12} {:>9} {:>12} {:>10} {:>10} {:>8} {:>4}",
            "function",
            "calls",
            "loop iters",
            "tier",
            "tier-up at",
            "queue",
            "compile",
            "code",
            "osr"
        );
        let ms = |d: Duration| format!("{:.3}ms", d.as_secs_f64() * 1e3);
        for r in self.funcs.iter().take(top) {
            let _ = writeln!(
                s,
                "{:<28} {:>10} {:>12} {:>9} {:>12} {:>10} {:>10} {:>8} {:>4}",
                truncate(&r.name, 28),
                r.calls,
                r.loop_iterations,
                r.tier.map_or("-", TierLevel::name),
                r.time_to_tier_up.map_or("-".into(), ms),
                ms(r.queue_wait),
                ms(r.compile_time),
                r.code_size,
                r.osr_entries
            );
        }
        if self.funcs.len() > top {
            let _ = writeln!(s, "... {} more functions", self.funcs.len() - top);
        }
        let _ = writeln!(
            s,
            "(calls and loop iterations are counted in the interpreter, and in baseline code that \
             the policy can move higher)"
        );
        for c in &self.compiles {
            let _ = writeln!(
                s,
                "compiles at {:<8} {:>6} jobs ({} failed), queue wait {}, compile {}",
                c.tier.map_or("-", TierLevel::name),
                c.jobs,
                c.failed,
                ms(c.queue_wait),
                ms(c.compile_time)
            );
        }
        for (from, to, n) in &self.osr {
            let _ = writeln!(s, "osr {from} -> {to}: {n}");
        }
        let total: Duration = self.tier_time.iter().sum();
        for (i, name) in TIME_BUCKETS.iter().enumerate() {
            let t = self.tier_time[i];
            if !t.is_zero() {
                let _ = writeln!(
                    s,
                    "time in {:<9} {:>10} ({:.1}%)",
                    name,
                    ms(t),
                    100.0 * t.as_secs_f64() / total.as_secs_f64().max(1e-12)
                );
            }
        }
        s
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

fn kind_name(k: &EventKind) -> &'static str {
    match k {
        EventKind::CompileQueued { .. } => "queued",
        EventKind::Compiled { .. } => "compiled",
        EventKind::TierUp { .. } => "tier-up",
        EventKind::OsrEntry { .. } => "osr",
        EventKind::Trap { .. } => "trap",
    }
}

fn kind_json(k: &EventKind) -> String {
    let kind = json_str(kind_name(k));
    match k {
        EventKind::CompileQueued {
            tier,
            reason,
            queue_len,
        } => format!(
            "\"kind\":{kind},\"tier\":\"{tier}\",\"reason\":{},\"queue_len\":{queue_len}",
            json_str(reason)
        ),
        EventKind::Compiled {
            tier,
            queue_wait,
            compile_time,
            code_size,
        } => format!(
            "\"kind\":{kind},\"tier\":\"{tier}\",\"queue_wait_us\":{},\"compile_us\":{},\
             \"code_size\":{},\"ok\":{}",
            queue_wait.as_micros(),
            compile_time.as_micros(),
            code_size.unwrap_or(0),
            code_size.is_some()
        ),
        EventKind::TierUp { from, to } => {
            format!("\"kind\":{kind},\"from\":\"{from}\",\"to\":\"{to}\"")
        }
        EventKind::OsrEntry {
            tier,
            loop_header,
            from,
        } => {
            format!(
                "\"kind\":{kind},\"tier\":\"{tier}\",\"loop_header\":{loop_header},\"from\":\"{from}\""
            )
        }
        EventKind::Trap { message } => format!("\"kind\":{kind},\"message\":{}", json_str(message)),
    }
}

/// A JSON string literal.
pub(crate) fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_json_and_chrome_trace() {
        let p = Profiler::new();
        let f = FuncKey {
            module: 1,
            func_index: 3,
        };
        p.name_func(f, "hot \"loop\"");
        p.record(
            Some(f),
            EventKind::CompileQueued {
                tier: TierLevel::Baseline,
                reason: "loop",
                queue_len: 1,
            },
        );
        p.record(
            Some(f),
            EventKind::Compiled {
                tier: TierLevel::Baseline,
                queue_wait: Duration::from_micros(5),
                compile_time: Duration::from_micros(40),
                code_size: Some(512),
            },
        );
        p.record(
            Some(f),
            EventKind::TierUp {
                from: TierLevel::Interp,
                to: TierLevel::Baseline,
            },
        );
        p.record(
            Some(f),
            EventKind::OsrEntry {
                tier: TierLevel::Baseline,
                loop_header: 12,
                from: TierLevel::Interp,
            },
        );
        p.add_tier_time(TierLevel::Interp, Duration::from_millis(2));
        p.add_tier_time(TierLevel::Baseline, Duration::from_millis(6));
        let s = p.summary(&[(f, 1, 1_000_000)]);
        assert_eq!(s.funcs.len(), 1);
        let r = &s.funcs[0];
        assert_eq!(
            (r.calls, r.loop_iterations, r.code_size, r.osr_entries),
            (1, 1_000_000, 512, 1)
        );
        assert_eq!(r.tier, Some(TierLevel::Baseline));
        assert_eq!(r.compile_time, Duration::from_micros(40));
        let table = s.render(10);
        assert!(table.contains("hot \"loop\""), "{table}");
        assert!(table.contains("time in baseline"), "{table}");
        assert!(table.contains("75.0%"), "{table}");
        assert!(table.contains("osr interp -> baseline: 1"), "{table}");
        assert!(
            table.contains("compiles at baseline      1 jobs (0 failed)"),
            "{table}"
        );

        let mut json = Vec::new();
        p.write_json_lines(&mut json).unwrap();
        let json = String::from_utf8(json).unwrap();
        assert_eq!(json.lines().count(), 5);
        assert!(
            json.lines()
                .last()
                .unwrap()
                .contains("\"baseline_us\":6000"),
            "{json}"
        );
        assert!(json.contains("\"name\":\"hot \\\"loop\\\"\""), "{json}");
        assert!(json.contains("\"kind\":\"osr\",\"tier\":\"baseline\",\"loop_header\":12"));

        let mut trace = Vec::new();
        p.write_chrome_trace(&mut trace).unwrap();
        let trace = String::from_utf8(trace).unwrap();
        assert!(trace.starts_with("{\"traceEvents\":["));
        assert!(trace.contains("\"ph\":\"X\""));
        assert!(trace.contains("\"ph\":\"M\""));
    }

    #[test]
    fn json_escapes_control_characters() {
        assert_eq!(json_str("a\u{1}b\"c"), "\"a\\u0001b\\\"c\"");
    }
}
