//! What parsing a body costs in memory, counted by the allocator itself (deterministic: bytes, not
//! time). The README's memory bound rests on these two facts:
//!
//! - parsing any body allocates at most [`FACTOR`] times its size (and [`SLACK`]) at the peak (the parsed tree of an
//!   element is held only while that element is read);
//! - what the parsed events keep is at most what `ParsedEvent::memory_estimate` says, which is what
//!   the body budget is charged for them.

// Counting allocations takes a global allocator, whose trait is unsafe.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use calltrail::events::{
    parse_callback_body, parse_eventgrid_body, EventGridDelivery, ParsedEvent,
};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            let now = CURRENT.fetch_add(new_size - layout.size(), Ordering::Relaxed) + new_size
                - layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        } else {
            CURRENT.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
        }
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Tests in this binary run one at a time: the counters are process-wide.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The documented bound: parsing allocates at most this many times the body's size at its peak,
/// plus [`SLACK`]. The worst case is a body of the smallest values (`[]`, `0`), two bytes of text
/// each and a tree node of 32 bytes.
const FACTOR: usize = 24;
const SLACK: usize = 64 * 1024;

/// Peak bytes allocated while `parse` runs, and bytes still held by what it returned.
fn measure<T>(parse: impl FnOnce() -> T) -> (usize, usize, T) {
    let before = CURRENT.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let out = parse();
    let peak = PEAK.load(Ordering::Relaxed) - before;
    let kept = CURRENT.load(Ordering::Relaxed).saturating_sub(before);
    (peak, kept, out)
}

fn about_one_mib(element: &str) -> String {
    let count = (1024 * 1024 / (element.len() + 1)).min(calltrail::events::MAX_EVENTS_PER_BODY);
    format!("[{}]", vec![element; count].join(","))
}

fn minimal_event(i: usize) -> String {
    format!(r#"{{"id":"{i}","source":"s","type":"T","specversion":"1.0"}}"#)
}

fn bodies() -> Vec<(&'static str, String)> {
    let many_minimal: Vec<String> = (0..calltrail::events::MAX_EVENTS_PER_BODY)
        .map(minimal_event)
        .collect();
    let participants: Vec<String> = (0..20_000)
        .map(|i| format!(r#"{{"identifier":{{"rawId":"8:acs:{i}"}},"isMuted":false}}"#))
        .collect();
    let keys: Vec<String> = (0..60_000).map(|i| format!(r#""k{i}":0"#)).collect();
    let numbers = vec!["0"; 400_000].join(",");
    vec![
        ("empty objects", about_one_mib("{}")),
        (
            "empty arrays in an object",
            format!(r#"{{"a":[{}]}}"#, vec!["[]"; 300_000].join(",")),
        ),
        (
            "the most minimal events a body may hold",
            format!("[{}]", many_minimal.join(",")),
        ),
        (
            "one snapshot of many participants",
            format!(
                r#"[{{"id":"p","source":"s","type":"Microsoft.Communication.ParticipantsUpdated","specversion":"1.0","data":{{"callConnectionId":"c","sequenceNumber":1,"participants":[{}]}}}}]"#,
                participants.join(",")
            ),
        ),
        (
            "one object of many keys",
            format!(
                r#"[{{"id":"k","source":"s","type":"T","specversion":"1.0","data":{{{}}}}}]"#,
                keys.join(",")
            ),
        ),
        (
            "an array of many numbers",
            format!(
                r#"[{{"id":"n","source":"s","type":"T","specversion":"1.0","data":{{"x":[{numbers}]}}}}]"#
            ),
        ),
        (
            "nesting as deep as accepted",
            format!("{}{}", "[".repeat(100), "]".repeat(100)),
        ),
    ]
}

#[test]
fn parsing_any_body_allocates_at_most_a_small_multiple_of_its_size() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    for (name, body) in bodies() {
        let (peak, _, _) = measure(|| parse_callback_body(body.as_bytes()));
        eprintln!(
            "{name}: {} bytes, peak {peak} bytes ({:.2}x)",
            body.len(),
            peak as f64 / body.len() as f64
        );
        assert!(
            peak <= FACTOR * body.len() + SLACK,
            "{name}: {peak} bytes for a body of {}",
            body.len()
        );
        let (peak, _, _) = measure(|| parse_eventgrid_body(body.as_bytes()));
        assert!(
            peak <= FACTOR * body.len() + SLACK,
            "{name} (Event Grid): {peak} bytes for a body of {}",
            body.len()
        );
    }
}

#[test]
fn parsed_events_hold_no_more_than_the_budget_is_charged_for_them() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let fixtures: Vec<String> = std::fs::read_dir("src/events/testdata")
        .unwrap()
        .map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap())
        .collect();
    let mut checked = 0;
    for body in bodies().into_iter().map(|(_, b)| b).chain(fixtures) {
        let (_, kept, parsed) = measure(|| {
            parse_callback_body(body.as_bytes()).ok().or_else(|| {
                match parse_eventgrid_body(body.as_bytes()) {
                    Ok(EventGridDelivery::Events(events)) => Some(events),
                    _ => None,
                }
            })
        });
        let Some(events) = parsed else { continue };
        let charged = events.capacity() * std::mem::size_of::<ParsedEvent>()
            + events.iter().map(ParsedEvent::heap_estimate).sum::<usize>();
        assert!(
            kept <= charged,
            "{} events keep {kept} bytes, charged {charged}",
            events.len()
        );
        checked += events.len();
    }
    assert!(
        checked > calltrail::events::MAX_EVENTS_PER_BODY,
        "{checked} events checked"
    );
}
