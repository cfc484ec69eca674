//! Letter import: plain text or Markdown of a tildelingsbrev → a reviewable draft. Pure: no IO.
