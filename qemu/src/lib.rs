//! The QEMU driver, in layer 5 of clone3-abi's pipeline beside the front ends:
//! recipes as data ([`recipe`]), the kernel cache and its mirror ([`fetch`]), the initramfs
//! whose /init is the agent ([`initramfs`]), one bounded boot ([`launch`]), and the agent's
//! console protocol both ways ([`console`]); [`guest`] strings them together for one guest
//! and hands home what the agent observed. Verdicts stay with the model and the reporters:
//! nothing here decides pass or fail.

pub mod console;
pub mod fake;
pub mod fetch;
pub mod guest;
pub mod initramfs;
pub mod launch;
pub mod mirror;
mod pvh;
pub mod recipe;
