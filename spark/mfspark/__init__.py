"""The Spark runner's modules, by role (spark/meterflow_spark.py is the application and its
command line):

- `common`: exit statuses, errors, the plan both data paths follow.
- `inputs`: the driver's steps before any Spark job: input files, headers, the asset probe.
- `native_path`: the native data path (the default), driving spark/native/'s Java class.
- `jvm_path`: the JVM data path (Spark SQL).
- `python_path`: the Python data path (the fallback); its functions run on the executors, which
  get this package with `SparkContext.addPyFile`.
- `results`: part files moved into place, figures added up.
"""
