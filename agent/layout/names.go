package layout

// Build ids and stamp names become file names on the volume (.appagent/stamps/upgrade-ID,
// backup directories): an ASCII letter or digit, then letters, digits and . _ : -, so that
// no name read from the volume or the image can hold a slash, a newline or "..".
const (
	MaxBuildID   = 128
	MaxStampName = 201
)

// ValidBuildID tells whether id is a build id (what prepare writes, or a name of that form).
func ValidBuildID(id string) bool { return validName(id, MaxBuildID) }

// ValidStampName tells whether name can be a stamp's file name.
func ValidStampName(name string) bool { return validName(name, MaxStampName) }

// validName is hand-written, not a regular expression: `[...]{0,200}` compiles into a
// program of hundreds of instructions at every start of every command (440 kB and 6,000
// allocations at init, measured with GODEBUG=inittrace=1), status probes included.
func validName(s string, max int) bool {
	if len(s) == 0 || len(s) > max || !alnum(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !alnum(c) && c != '.' && c != '_' && c != ':' && c != '-' {
			return false
		}
	}
	return true
}

func alnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}
