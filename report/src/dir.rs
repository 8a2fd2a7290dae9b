//! `--report DIR`: every format from one set of results, each file written atomically:
//! results.ktap (a subtest per guest, as a matrix prints it), junit.xml, kcidb.json, report.html, results.json, and
//! console/<guest>.log for each guest that had a console.

use super::{html, json, junit, kcidb, write_atomically, Guest};
use std::path::Path;

pub const FILES: [&str; 5] = ["results.ktap", "junit.xml", "kcidb.json", "report.html", "results.json"];

pub fn write(dir: &Path, guests: &[Guest], ktap: &str) -> Result<(), String> {
    let meta = kcidb::Meta::now();
    let contents = [ktap.to_string(), junit::render(guests), kcidb::render(guests, &meta), html::render(guests), json::render_guests(guests)];
    for (name, text) in FILES.iter().zip(contents) {
        put(&dir.join(name), text.as_bytes())?;
    }
    consoles(&dir.join("console"), guests)
}

/// `--keep-logs DIR` (and `console/` of a report): each guest's serial console, `<guest>.log`.
pub fn consoles(dir: &Path, guests: &[Guest]) -> Result<(), String> {
    for g in guests {
        if let Some(text) = g.console {
            put(&dir.join(format!("{}.log", g.name)), text.as_bytes())?;
        }
    }
    Ok(())
}

fn put(path: &Path, bytes: &[u8]) -> Result<(), String> {
    write_atomically(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
