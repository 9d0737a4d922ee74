//! What a laid-out swimlane is made of: lanes, bars, marks and ticks, in picture coordinates.

use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LaneKind {
    Call,
    Participant { raw_id: String, kind: String },
    Media,
}

#[derive(Debug, Clone)]
pub struct Lane {
    pub kind: LaneKind,
    pub label: String,
    /// The lane's top edge.
    pub y: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BarStyle {
    Presence,
    Muted,
    Hold,
    MediaCompleted,
    MediaFailed,
    MediaCanceled,
    /// Started, not finished (yet, or ever).
    MediaOpen,
}

#[derive(Debug, Clone)]
pub struct Bar {
    pub lane: usize,
    pub x1: f64,
    pub x2: f64,
    pub style: BarStyle,
    /// Still open at the end of what is known: drawn with an arrow.
    pub open: bool,
    pub label: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkKind {
    State,
    Join,
    Leave,
    Muted,
    Unmuted,
    Hold,
    Resumed,
    Dtmf,
    MediaStart,
    MediaEnd,
}

#[derive(Debug, Clone)]
pub struct Mark {
    pub lane: usize,
    pub x: f64,
    pub at: DateTime<Utc>,
    pub kind: MarkKind,
    /// One or two characters drawn on the mark.
    pub glyph: String,
    /// What happened, in words (the link's name and the table's row).
    pub label: String,
    pub event_seq: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct Tick {
    pub x: f64,
    pub relative: String,
    pub absolute: String,
}

#[derive(Debug)]
pub struct Layout {
    pub width: f64,
    pub height: f64,
    /// The call's first moment: relative times count from it.
    pub start: DateTime<Utc>,
    /// The picture's left and right edges.
    pub from: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// This window of time (from 1) and how many the page of lanes is cut into.
    pub window: usize,
    pub windows: usize,
    pub lanes: Vec<Lane>,
    pub bars: Vec<Bar>,
    /// In time order: the order of the links, so keyboard focus walks the call forwards.
    pub marks: Vec<Mark>,
    pub ticks: Vec<Tick>,
    /// This page of participant lanes (from 1) and how many there are.
    pub page: usize,
    pub pages: usize,
    pub participants: usize,
}
