# shellcheck shell=bash
# Sourced by spark/submit and spark/native/build: how the files in the runner's cache folder are
# named, so that both name theirs from Spark's jars alike. A file's key is made from what the file
# depends on (the Spark installation's jars, and the Java build or the sources), so another Java,
# Spark or source gets a file of its own. Needs GNU find and sha256sum.

# The jars of the Spark installation at $1, one line each (name, size, time of change), in name order.
spark_jars() {
  find "$1/jars" -maxdepth 1 -name '*.jar' -printf '%f %s %T@\n' | LC_ALL=C sort
}

# The key of what is on stdin: 16 hex digits of its SHA-256.
cache_key() {
  sha256sum | cut -c1-16
}
