//! Cases generated from every field of every fixture: NULs, lone surrogates, duplicate keys, wrong
//! types, missing and null fields.

use serde_json::Value;

use super::case::Case;
use super::paths::{display, fixtures, known_type_of, nodes, pattern, spliced, Op, REQUIRED};

pub(super) fn generated_field_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for f in fixtures() {
        for (element_path, element, known) in f.elements() {
            let mut all = Vec::new();
            nodes(element, Vec::new(), &mut all);
            let is_cloud_event = element.get("specversion").is_some();
            for (rel, value) in &all {
                let mut path = element_path.clone();
                path.extend(rel.iter().cloned());
                let pat = pattern(rel);
                let where_ = format!("{} {}", f.name, display(&path));
                let field = format!("field `{}`", display(rel));
                // NUL and lone surrogates in every string, of every element, known or not.
                if let Value::String(s) = value {
                    let body = f.with(&path, &Op::Replace(&spliced(s, "\\u0000")));
                    cases.push(
                        Case::post("NUL in every string", where_.clone(), &f.path, body)
                            .refused(400, "invalid_event")
                            .message(format!("{field} contains a NUL")),
                    );
                    let body = f.with(&path, &Op::Replace(&spliced(s, "\\ud800")));
                    cases.push(
                        Case::post(
                            "lone surrogate in every string",
                            where_.clone(),
                            &f.path,
                            body,
                        )
                        .refused(400, "invalid_json"),
                    );
                }
                if let Value::Object(map) = value {
                    // A repeated key, in its own spelling and in another case, in every object.
                    if let Some((key, v)) = map.iter().next() {
                        let text = v.to_string();
                        for spelling in [key.clone(), key.to_uppercase()] {
                            let body = f.with(&path, &Op::Prepend(&spelling, &text));
                            cases.push(
                                Case::post(
                                    "duplicate keys",
                                    format!("{where_} {spelling}"),
                                    &f.path,
                                    body,
                                )
                                .refused(400, "invalid_event")
                                .message("appears more than once"),
                            );
                        }
                    }
                    let body = f.with(&path, &Op::Prepend("k\u{0}", "1"));
                    cases.push(
                        Case::post(
                            "NUL in every string",
                            format!("{where_} key"),
                            &f.path,
                            body,
                        )
                        .refused(400, "invalid_event")
                        .message("contains a NUL"),
                    );
                }
                if !known {
                    continue;
                }
                // Only plays read `failedPlaySourceIndex`; recognitions carry it unread.
                let play = element["type"].as_str().is_some_and(|t| t.contains("Play"));
                if pat == "data.failedplaysourceindex" && !play {
                    continue;
                }
                if let Some(ty) = known_type_of(&pat) {
                    for wrong in ty.wrong_values() {
                        let body = f.with(&path, &Op::Replace(wrong));
                        cases.push(
                            Case::post("wrong types", format!("{where_} = {wrong}"), &f.path, body)
                                .refused(400, "invalid_event")
                                .message(field.clone()),
                        );
                    }
                }
                let required = REQUIRED.contains(&pat.as_str())
                    || (is_cloud_event && (pat == "id" || pat == "source"));
                if required && !rel.is_empty() {
                    let body = f.with(&path, &Op::Remove);
                    cases.push(
                        Case::post("missing fields", format!("{where_} removed"), &f.path, body)
                            .refused(400, "invalid_event"),
                    );
                    let body = f.with(&path, &Op::Replace("null"));
                    cases.push(
                        Case::post(
                            "null ids and required fields",
                            format!("{where_} null"),
                            &f.path,
                            body,
                        )
                        .refused(400, "invalid_event"),
                    );
                    if matches!(pat.as_str(), "id" | "source") {
                        for blank in ["\"\"", "\"   \""] {
                            let body = f.with(&path, &Op::Replace(blank));
                            cases.push(
                                Case::post(
                                    "null ids and required fields",
                                    format!("{where_} {blank}"),
                                    &f.path,
                                    body,
                                )
                                .refused(400, "invalid_event"),
                            );
                        }
                    }
                }
            }
        }
    }
    cases
}
