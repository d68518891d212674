//! Execution harness for synth.
