package layout

// On the volume, relative to its root.
const (
	StateDir      = ".appagent"                 // appagent's state, 0700
	LockFile      = StateDir + "/lock"          // the keeper's exclusive flock; init writes the holder into it
	AgentLockFile = StateDir + "/lock.agent"    // the agent's shared flock
	BuildIDFile   = StateDir + "/build-id"      // the build that last wrote the volume, written last
	FormatFile    = StateDir + "/format"        // the volume's format version
	ManifestFile  = StateDir + "/manifest.json" // the manifest of that build
	TxnFile       = StateDir + "/txn"           // only while populating or upgrading
	StagingDir    = StateDir + "/staging"       // only while populating
	BackupDir     = StateDir + "/backup"        // one directory per upgrade
	PlanFile      = "plan.json"                 // in each backup directory
	ParamsFile    = StateDir + "/" + ParamsName // the stored parameters (secrets too: 0600)
	ParamsName    = "params.json"
	StampsDir     = StateDir + "/stamps" // the hooks' stamps
	RoleFile      = StateDir + "/role"   // the instance role the volume was set up for (replication)
)

// The hooks' stamps, in StampsDir.
const (
	ConfiguredStamp    = "configure"           // the configure hook succeeded on this volume
	ReconfigurePending = "reconfigure-pending" // parameters changed: the reconfigure hook runs
	UpgradeStampPrefix = "upgrade-"            // + build id: the upgrade hook succeeded for that build
	JoinedStamp        = "join"                // the join hook succeeded: this volume is a replica's copy
)

// In the image.
const (
	ImageDir          = "/usr/share/appagent"
	ImageBuildIDFile  = ImageDir + "/build-id"      // the template's build id
	ImageManifestFile = ImageDir + "/manifest.json" // the template's manifest
	FSManifestFile    = ImageDir + "/fs-manifest"   // the image's filesystem, for appagent diff
	DefaultTemplate   = ImageDir + "/template"      // volume.template's default
)

// At run time.
const (
	RuntimeDir     = "/run/appagent"
	CursorFile     = RuntimeDir + "/logfwd.cursor" // the log forwarder's journal cursor
	ChecksFile     = RuntimeDir + "/checks.json"   // the application checks' last results
	ParamsEnvFile  = "params.env"                  // in RuntimeDir: non-secret NAME="value" lines
	ParamsDir      = "params"                      // in RuntimeDir: one file per non-secret parameter
	CredentialsDir = "credentials"                 // in RuntimeDir: one file per secret, for LoadCredential=
	ParamsStatus   = "params-status.json"          // in RuntimeDir: names, sources, flags; never a secret
	ParamsChanged  = "params-changed"              // in RuntimeDir: parameters changed since the last start
	RoleEnvFile    = RuntimeDir + "/role.env"      // APPAGENT_ROLE, APPAGENT_PRIMARY, APPAGENT_ORDINAL for units
	ReplicaFlag    = RuntimeDir + "/replica"       // exists while this instance is a replica: the join hook's condition
)
