// Package unconfined gives tests a directory outside agent/confine's scratch directories:
// a confined program may write beneath /tmp, so a test of what it may not write needs a
// place elsewhere, wherever the repository is checked out (CI clones it under /tmp). Tests
// only; no product code imports it.
package unconfined
