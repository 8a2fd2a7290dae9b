//! Where kernels are downloaded from: the one place a mirror is configured.
//!
//! In order: `CLONE3_ABI_MIRROR` (the URL of a Debian archive, `…/debian`; the security
//! archive is `CLONE3_ABI_SECURITY_MIRROR`, else the same URL with `-security` appended),
//! then the host's own apt sources when they name a Debian archive, then [`DEFAULT`].

use serde::Deserialize;

/// The default mirror host: Debian's CDN redirector (the only place the name is written).
pub const DEFAULT: &str = "http://deb.debian.org";

/// The archives of a Debian mirror a recipe can name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
pub enum Archive {
    /// `…/debian`: the suites' pools.
    #[default]
    #[serde(rename = "debian")]
    Main,
    /// `…/debian-security`: the stable series' security updates (newest stable kernels).
    #[serde(rename = "debian-security")]
    Security,
}

/// The root URL of `archive`, where a recipe's `filename` is found.
pub fn root(archive: Archive) -> String {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty()).map(|v| v.trim_end_matches('/').to_string());
    let main = env("CLONE3_ABI_MIRROR");
    let chosen = match archive {
        Archive::Main => main,
        Archive::Security => env("CLONE3_ABI_SECURITY_MIRROR").or(main.map(|m| format!("{m}-security"))),
    };
    chosen.or_else(|| from_apt(archive)).unwrap_or_else(|| format!("{DEFAULT}/{}", archive.dir()))
}

impl Archive {
    fn dir(self) -> &'static str {
        match self {
            Archive::Main => "debian",
            Archive::Security => "debian-security",
        }
    }
}

/// The host's apt sources (one-line `.list` and deb822 `.sources`), when one of them is a
/// Debian archive of that kind: a Debian host's configured mirror is usually the nearest.
fn from_apt(archive: Archive) -> Option<String> {
    let mut texts = vec![std::fs::read_to_string("/etc/apt/sources.list").unwrap_or_default()];
    if let Ok(dir) = std::fs::read_dir("/etc/apt/sources.list.d") {
        let mut paths: Vec<_> = dir.flatten().map(|e| e.path()).collect();
        paths.sort();
        texts.extend(paths.iter().filter_map(|p| std::fs::read_to_string(p).ok()));
    }
    texts.iter().find_map(|t| uris(t).into_iter().find(|u| is_archive(u, archive)))
}

/// Every http(s) URI of a sources file, in either format.
fn uris(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        let words: Vec<&str> = match line.strip_prefix("URIs:") {
            Some(rest) => rest.split_whitespace().collect(),
            // `deb [options] uri suite…`: the options may hold spaces.
            None if line.starts_with("deb ") => {
                let rest = line[4..].trim_start();
                let rest = if rest.starts_with('[') { rest.split_once(']').map_or("", |(_, r)| r) } else { rest };
                rest.split_whitespace().take(1).collect()
            }
            None => continue,
        };
        out.extend(words.into_iter().filter(|w| w.starts_with("http://") || w.starts_with("https://")).map(|w| w.trim_end_matches('/').to_string()));
    }
    out
}

/// A Debian archive of that kind by its path (`…/debian`, `…/debian-security`): an Ubuntu
/// or third-party repository does not carry Debian's pool.
fn is_archive(uri: &str, archive: Archive) -> bool {
    uri.rsplit('/').next() == Some(archive.dir())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_apt_formats_and_keeps_only_debian_archives() {
        let deb822 = "Types: deb\nURIs: http://mirror.example/debian/\nSuites: bookworm\n\nTypes: deb\nURIs: http://mirror.example/debian-security\n";
        let list = "# comment\ndeb [arch=amd64 signed-by=/k.gpg] https://m.example/ubuntu jammy main\ndeb http://m.example/debian bookworm main\n";
        let u = uris(deb822);
        assert_eq!(u, ["http://mirror.example/debian", "http://mirror.example/debian-security"]);
        assert!(is_archive(&u[0], Archive::Main) && !is_archive(&u[0], Archive::Security));
        assert!(is_archive(&u[1], Archive::Security));
        let u = uris(list);
        assert_eq!(u, ["https://m.example/ubuntu", "http://m.example/debian"]);
        assert!(!is_archive(&u[0], Archive::Main));
    }
}
