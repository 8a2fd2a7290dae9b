//! The machine's facts (`clone3_runner::probe`), and what the front ends say of them.

pub use clone3_runner::probe::*;

/// [`probe`] for the front ends: on failure says why and gives the exit code.
pub fn probe_or_say() -> Result<Probe, u8> {
    let p = probe().map_err(|e| {
        eprintln!("clone3-abi: cannot read the kernel's facts: {e}");
        crate::CANNOT_TEST
    })?;
    for n in &p.notes {
        eprintln!("clone3-abi: note: {n}");
    }
    Ok(p)
}
