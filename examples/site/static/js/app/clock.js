// Shows when the page was loaded.  No trailing semicolon on purpose: the
// bundler must stop the next file's leading "(" from turning this into a call.
var loadedAt = new Date()
