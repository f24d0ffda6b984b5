//! The ANAF simulator (filled in by the simulator issue).
