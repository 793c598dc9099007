#!/usr/bin/env bash
# Runs the Spark runner's tests on a standalone cluster of its own: installs a Java 17 JDK when missing
# (apt-get) and pyspark into spark/.venv (spark/requirements.txt) through .ci/provision, starts a
# master and one worker on 127.0.0.1 (ports 7177/7178, web UIs 8181/8182; 4 cores so the
# application that fails on purpose runs beside the tests), compiles the native data path
# (spark/native/build), submits spark/test_meterflow_spark.py with its jar
# to it and stops the cluster, whatever the outcome. The last line is `N passed, N failed`.
#
# usage: spark/run_tests.sh BINARY   (a release build of meterflow)
set -euo pipefail
cd "$(dirname "$0")/.."
binary="$(realpath "$1")"

bash .ci/provision spark
export PATH="$PWD/spark/.venv/bin:$PATH"
export PYSPARK_PYTHON="$PWD/spark/.venv/bin/python" PYSPARK_DRIVER_PYTHON="$PWD/spark/.venv/bin/python"
export SPARK_LOCAL_IP=127.0.0.1 SPARK_HOME="$(python -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')"

work="$(mktemp -d)"
pids=()
stop() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap stop EXIT
master=spark://127.0.0.1:7177
spark-class org.apache.spark.deploy.master.Master --host 127.0.0.1 --port 7177 --webui-port 8181 \
  >"$work/master.log" 2>&1 &
pids+=($!)
spark-class org.apache.spark.deploy.worker.Worker --host 127.0.0.1 --port 7178 --webui-port 8182 \
  --cores 4 --memory 3g --work-dir "$work/worker" "$master" >"$work/worker.log" 2>&1 &
pids+=($!)
# Two JVMs starting on a loaded 2-core machine can take a while: only a worker that never
# registers reaches this limit; one that died ends the wait at once.
for _ in $(seq 300); do
  grep -q "Successfully registered with master" "$work/worker.log" && break
  kill -0 "${pids[0]}" 2>/dev/null && kill -0 "${pids[1]}" 2>/dev/null || break
  sleep 1
done
if ! grep -q "Successfully registered with master" "$work/worker.log"; then
  echo "the Spark worker did not register with the master:" >&2
  cat "$work/master.log" "$work/worker.log" >&2
  exit 1
fi
# The native data path's jar, as spark/submit compiles it.
jar=$(spark/native/build "$SPARK_HOME" "$work/cache")
# One attempt per task: the cases that fail on purpose would otherwise run their task four times.
MASTER="$master" spark-submit --master "$master" --conf spark.ui.enabled=false --total-executor-cores 2 \
  --conf spark.task.maxFailures=1 --jars "$jar" \
  spark/test_meterflow_spark.py "$binary" "$work/data"
