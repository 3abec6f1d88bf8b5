//! myco-bridge
