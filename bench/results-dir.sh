# Sourced by the bench scripts (run from the repository root): builds the jar when missing, makes $WORK absolute
# and creates a fresh $OUT = $WORK/results-<UTC time> for this run's JSON summaries and logs.
jar=agent/target/mtagent.jar
[ -f "$jar" ] || mvn -q -B -DskipTests package
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
OUT="$WORK/results-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$OUT"
