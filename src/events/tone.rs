//! DTMF tone names. Each era spells the same key differently ("Tone1",
//! "tone1", "one"); storage and consumers want one alphabet: `0`–`9`, `*`,
//! `#`, `A`–`D` and `flash`.

/// Normalises a DTMF tone name. An unrecognised name comes back lowercased,
/// not refused: new tones may appear and the event is still worth keeping.
/// Only an empty name gives `None`.
pub fn normalize_tone(s: &str) -> Option<String> {
    let lower = s.trim().to_ascii_lowercase();
    if lower.is_empty() {
        return None;
    }
    let bare = match lower.strip_prefix("tone") {
        Some(rest) if !rest.is_empty() => rest,
        _ => lower.as_str(),
    };
    let known = match bare {
        "0" | "zero" => "0",
        "1" | "one" => "1",
        "2" | "two" => "2",
        "3" | "three" => "3",
        "4" | "four" => "4",
        "5" | "five" => "5",
        "6" | "six" => "6",
        "7" | "seven" => "7",
        "8" | "eight" => "8",
        "9" | "nine" => "9",
        "*" | "star" | "asterisk" => "*",
        "#" | "pound" => "#",
        "a" => "A",
        "b" => "B",
        "c" => "C",
        "d" => "D",
        "flash" => "flash",
        _ => return Some(lower),
    };
    Some(known.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let cases = [
            ("Tone0", "0"),
            ("tone1", "1"),
            ("TONE9", "9"),
            ("zero", "0"),
            ("one", "1"),
            ("Two", "2"),
            ("three", "3"),
            ("four", "4"),
            ("five", "5"),
            ("six", "6"),
            ("seven", "7"),
            ("eight", "8"),
            ("NINE", "9"),
            ("0", "0"),
            ("7", "7"),
            ("star", "*"),
            ("asterisk", "*"),
            ("*", "*"),
            ("Pound", "#"),
            ("#", "#"),
            ("a", "A"),
            ("D", "D"),
            ("toneA", "A"),
            ("toned", "D"),
            ("flash", "flash"),
            ("Flash", "flash"),
        ];
        for (input, want) in cases {
            assert_eq!(normalize_tone(input).as_deref(), Some(want), "{input}");
        }
    }

    #[test]
    fn unknown_tones_are_kept_lowercased() {
        assert_eq!(normalize_tone("Hookflash2").as_deref(), Some("hookflash2"));
        assert_eq!(normalize_tone("tone").as_deref(), Some("tone"));
        assert_eq!(normalize_tone("toneE").as_deref(), Some("tonee"));
    }

    #[test]
    fn empty_is_none() {
        assert_eq!(normalize_tone(""), None);
        assert_eq!(normalize_tone("  "), None);
    }
}
