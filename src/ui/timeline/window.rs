//! Windows of time: a page of lanes with more marks than [`MARKS_PER_WINDOW`] is cut into windows
//! of at most that many marks, so that a call page, with its picture and table, stays light however
//! busy the call (a 2,000-event call's page of lanes draws 860 marks: 600 kB unwindowed). Each
//! window is drawn at full width, which also spreads marks that would overlap over the whole call.

use chrono::{DateTime, Utc};

use super::{call_span, layout_span, Input, Layout, Span};

/// The most marks one window of a page of lanes draws (and lists in its table).
pub const MARKS_PER_WINDOW: usize = 60;

/// Lays out one window (from 1) of one page of lanes (from 1).
pub fn layout_window(input: &Input<'_>, width: f64, page: usize, window: usize) -> Layout {
    let whole = layout_span(input, width, page, None);
    let times: Vec<DateTime<Utc>> = whole.marks.iter().map(|m| m.at).collect();
    let cuts = cuts(&times, MARKS_PER_WINDOW);
    if cuts.len() <= 1 {
        return whole;
    }
    let (_, call_end) = call_span(input);
    let windows = cuts.len();
    let n = window.clamp(1, windows);
    let span = Span {
        from: cuts[n - 1],
        to: cuts.get(n).copied().unwrap_or(call_end.max(cuts[n - 1])),
        last: n == windows,
    };
    let mut layout = layout_span(input, width, page, Some(span));
    layout.window = n;
    layout.windows = windows;
    layout
}

/// Where windows start: at the first mark, then at the mark that would be the `per + 1`th of the
/// window so far. Marks at one instant stay in one window (however many they are), so a window
/// can hold more than `per` only when that many share a millisecond.
fn cuts(times: &[DateTime<Utc>], per: usize) -> Vec<DateTime<Utc>> {
    let mut cuts: Vec<DateTime<Utc>> = Vec::new();
    let mut in_window = 0;
    for (i, &t) in times.iter().enumerate() {
        let new_instant = i == 0 || times[i - 1] != t;
        if cuts.is_empty() || (in_window >= per && new_instant) {
            cuts.push(t);
            in_window = 0;
        }
        in_window += 1;
    }
    cuts
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    #[test]
    fn windows_hold_at_most_their_share_and_keep_an_instant_together() {
        let t0: DateTime<Utc> = "2024-03-12T09:00:00Z".parse().unwrap();
        let at = |ms: i64| t0 + TimeDelta::milliseconds(ms);
        let times: Vec<_> = (0..10).map(at).collect();
        assert_eq!(cuts(&times, 4), [at(0), at(4), at(8)]);
        assert_eq!(cuts(&times, 10), [at(0)]);
        let crowded = [at(0), at(1), at(1), at(1), at(2)];
        assert_eq!(cuts(&crowded, 2), [at(0), at(2)]);
        assert!(cuts(&[], 2).is_empty());
    }
}
