package meterflow.spark;

import java.io.BufferedOutputStream;
import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.stream.Stream;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.io.LongWritable;
import org.apache.hadoop.io.Text;
import org.apache.hadoop.mapreduce.lib.input.TextInputFormat;
import org.apache.spark.Partitioner;
import org.apache.spark.SerializableWritable;
import org.apache.spark.SparkFiles;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaSparkContext;

import scala.Tuple2;

/**
 * The Spark runner's native data path (spark/mfspark/native_path.py drives it): a SparkContext
 * only, no Spark SQL. Each file is read by Hadoop's TextInputFormat, whose key is a line's byte
 * offset (decompressed, for a codec): with the file's ordinal, an exact file-order position. The
 * asset's field is found by one byte scan of the line, as the csv crate splits it, and hashed to a
 * partition. Each map task packs its lines, per partition, into blocks of about 64 KiB keyed by the
 * position of the block's first line; a split's lines go into its blocks in order and splits cover
 * disjoint byte ranges, so a partition's blocks sorted by key and concatenated are its lines in
 * file order, and the shuffle carries a record per block, not per line. Each partition is piped,
 * its file's header first, into one `meterflow run`, whose points, late rows and figures are
 * written as the partition's part files through Hadoop's file system.
 *
 * A key packs the partition (12 bits), the file's ordinal (12 bits) and the byte offset (39 bits),
 * so the natural order of keys within a partition is file order.
 */
public final class NativePath {
  static final int OFFSET_BITS = 39;
  static final int FILE_BITS = 12;
  static final int PART_SHIFT = OFFSET_BITS + FILE_BITS;
  /** The most files and partitions a key holds. */
  public static final int MAX_FILES = 1 << FILE_BITS;
  public static final int MAX_PARTITIONS = 1 << (63 - PART_SHIFT);
  /** Bytes per block of lines. */
  static final int BLOCK = 1 << 16;

  /** The partition is in the key's top bits. */
  static final class ByKey extends Partitioner {
    private final int n;

    ByKey(int n) {
      this.n = n;
    }

    @Override
    public int numPartitions() {
      return n;
    }

    @Override
    public int getPartition(Object key) {
      return (int) (((Long) key) >>> PART_SHIFT);
    }
  }

  /** What meterflow trims around a field (ASCII whitespace), and quotes: see `hash`. */
  static boolean trimmed(byte b) {
    return b == ' ' || b == '\t' || b == '\n' || b == 0x0b || b == 0x0c || b == '\r' || b == '"';
  }

  /**
   * A hash of a field's bytes with every quote removed, then trimmed. Any field meterflow reads as
   * one asset gets one hash: its value is the field's text with the enclosing quotes dropped and
   * doubled quotes halved, then trimmed, so removing every quote and trimming gives what removing
   * every quote from the asset gives.
   */
  static int hash(byte[] b, int start, int end) {
    while (start < end && trimmed(b[start])) {
      start++;
    }
    while (end > start && trimmed(b[end - 1])) {
      end--;
    }
    int h = 0x9747b28c;
    for (int i = start; i < end; i++) {
      if (b[i] != '"') {
        h = (h ^ b[i]) * 0x01000193;
      }
    }
    h ^= h >>> 16;
    return h;
  }

  /**
   * The hash of the field at `column` (from 0) of one line, or of the constant asset when
   * `column` is negative; null when a quoted field does not close on the line (its record goes on
   * on the next line, which a line-by-line read cannot follow). Fields as the csv crate reads them
   * (quote `"`, doubled inside quotes, no escape): a field starting with a quote runs to its
   * closing quote and then to the delimiter; any other field to the delimiter, quotes being plain
   * text in it.
   */
  static boolean scan(byte[] b, int len, byte d, int column, int[] span) {
    int field = 0;
    int i = 0;
    span[0] = len;
    span[1] = len;
    while (true) {
      int from = i;
      if (i < len && b[i] == '"') {
        i++;
        while (true) {
          if (i >= len) {
            return false;
          }
          if (b[i] == '"') {
            if (i + 1 < len && b[i + 1] == '"') {
              i += 2;
              continue;
            }
            i++;
            break;
          }
          i++;
        }
      }
      while (i < len && b[i] != d) {
        i++;
      }
      if (field == column) {
        span[0] = from;
        span[1] = i;
      }
      if (i >= len) {
        return true;
      }
      i++;
      field++;
    }
  }

  /** A line without a quote: the field at `column` by delimiters alone. */
  static boolean plain(byte[] b, int len, byte d, int column, int[] span) {
    int field = 0;
    int start = column == 0 ? 0 : -1;
    int end = -1;
    for (int i = 0; i < len; i++) {
      byte c = b[i];
      if (c == '"') {
        return false;
      }
      if (c == d) {
        field++;
        if (field == column) {
          start = i + 1;
        } else if (field == column + 1) {
          end = i;
        }
      }
    }
    // Fewer fields: meterflow reports the row, and any partition will do.
    span[0] = start < 0 ? len : start;
    span[1] = end < 0 ? len : end;
    return true;
  }

  /**
   * Runs the path. `classOf` gives each file's header class; `headers`, `delimiters`, `columns`
   * (negative: the asset is `constants`' entry) are per class. `jobs` and `binary` name files
   * shipped with SparkContext.addFile, `jobNames` the jobs' own names; a flag starting with
   * `shipped` names a shipped file. Returns each partition's index, lines fed, lines among them
   * equal to their header and figures (JSON), tab-separated.
   */
  public static List<String> run(JavaSparkContext jsc, String[] files, int[] classOf, String[] headers,
      int[] delimiters, int[] columns, String[] constants, int partitions, String binary, String[] jobs,
      String[] jobNames, String[] flags, String shipped, String pointsDir, String lateDir, String failMark,
      String refuseMark) {
    if (files.length > MAX_FILES || partitions > MAX_PARTITIONS) {
      throw new IllegalArgumentException(refuseMark + ": over " + MAX_FILES + " files or " + MAX_PARTITIONS
          + " partitions");
    }
    final int[] constantHash = new int[constants.length];
    for (int c = 0; c < constants.length; c++) {
      byte[] name = constants[c] == null ? new byte[0] : constants[c].getBytes(StandardCharsets.UTF_8);
      constantHash[c] = hash(name, 0, name.length);
    }
    JavaPairRDD<Long, byte[]> all = null;
    for (int k = 0; k < files.length; k++) {
      final long base = (long) k << OFFSET_BITS;
      final String name = files[k];
      final byte d = (byte) delimiters[classOf[k]];
      final int column = columns[classOf[k]];
      final int constant = constantHash[classOf[k]];
      JavaPairRDD<LongWritable, Text> read = jsc.newAPIHadoopFile(name, TextInputFormat.class, LongWritable.class,
          Text.class, jsc.hadoopConfiguration());
      JavaPairRDD<Long, byte[]> keyed = read.mapPartitionsToPair(it -> new Iterator<Tuple2<Long, byte[]>>() {
        final byte[][] buffers = new byte[partitions][];
        final int[] used = new int[partitions];
        final long[] first = new long[partitions];
        final int[] span = new int[2];
        final ArrayDeque<Tuple2<Long, byte[]>> ready = new ArrayDeque<>();
        boolean drained;

        private void emit(int p) {
          ready.add(new Tuple2<>(((long) p << PART_SHIFT) | base | first[p], Arrays.copyOf(buffers[p], used[p])));
          used[p] = 0;
        }

        private void fill() {
          while (ready.isEmpty() && it.hasNext()) {
            Tuple2<LongWritable, Text> t = it.next();
            long offset = t._1().get();
            Text text = t._2();
            int len = text.getLength();
            if (offset == 0 || len == 0) {
              continue; // the header (a byte-order mark with it), an empty line
            }
            if (offset >= 1L << OFFSET_BITS) {
              throw new IllegalStateException(refuseMark + ": " + name + " is over 2^" + OFFSET_BITS + " bytes");
            }
            byte[] bytes = text.getBytes();
            if (!plain(bytes, len, d, column, span) && !scan(bytes, len, d, column, span)) {
              throw new IllegalStateException(refuseMark + ": a quoted field does not close on its line, so its "
                  + "record goes on on the next one, and Spark reads lines: "
                  + new String(bytes, 0, Math.min(len, 200), StandardCharsets.UTF_8));
            }
            int h = column < 0 ? constant : hash(bytes, span[0], span[1]);
            int p = Math.floorMod(h, partitions);
            if (buffers[p] == null) {
              buffers[p] = new byte[BLOCK + 256];
            }
            if (used[p] == 0) {
              first[p] = offset;
            } else if (used[p] + len + 1 > buffers[p].length) {
              emit(p);
              first[p] = offset;
            }
            if (len + 1 > buffers[p].length) {
              buffers[p] = Arrays.copyOf(buffers[p], len + 1);
            }
            System.arraycopy(bytes, 0, buffers[p], used[p], len);
            used[p] += len;
            buffers[p][used[p]++] = '\n';
            if (used[p] >= BLOCK) {
              emit(p);
            }
          }
          if (ready.isEmpty() && !drained) {
            drained = true;
            for (int p = 0; p < partitions; p++) {
              if (used[p] > 0) {
                emit(p);
              }
            }
          }
        }

        @Override
        public boolean hasNext() {
          fill();
          return !ready.isEmpty();
        }

        @Override
        public Tuple2<Long, byte[]> next() {
          if (!hasNext()) {
            throw new NoSuchElementException();
          }
          return ready.poll();
        }
      });
      all = all == null ? keyed : all.union(keyed);
    }
    final byte[][] headerBytes = new byte[headers.length][];
    for (int c = 0; c < headers.length; c++) {
      headerBytes[c] = (headers[c] + "\n").getBytes(StandardCharsets.UTF_8);
    }
    final SerializableWritable<Configuration> conf = new SerializableWritable<>(jsc.hadoopConfiguration());
    Feed feed = new Feed(classOf, headerBytes, binary, jobs, jobNames, flags, shipped, pointsDir, lateDir, failMark,
        conf);
    return all.repartitionAndSortWithinPartitions(new ByKey(partitions))
        .mapPartitionsWithIndex((index, it) -> Collections.singletonList(feed.run(index, it)).iterator(), false)
        .collect();
  }

  /** One partition through one `meterflow run`. */
  static final class Feed implements java.io.Serializable {
    final int[] classOf;
    final byte[][] headers;
    final String binary;
    final String[] jobs;
    final String[] jobNames;
    final String[] flags;
    final String shipped;
    final String pointsDir;
    final String lateDir;
    final String failMark;
    final SerializableWritable<Configuration> conf;

    Feed(int[] classOf, byte[][] headers, String binary, String[] jobs, String[] jobNames, String[] flags,
        String shipped, String pointsDir, String lateDir, String failMark, SerializableWritable<Configuration> conf) {
      this.classOf = classOf;
      this.headers = headers;
      this.binary = binary;
      this.jobs = jobs;
      this.jobNames = jobNames;
      this.flags = flags;
      this.shipped = shipped;
      this.pointsDir = pointsDir;
      this.lateDir = lateDir;
      this.failMark = failMark;
      this.conf = conf;
    }

    IllegalStateException failure(String text) {
      return new IllegalStateException(failMark + ": " + text);
    }

    /**
     * The partition's lines, header first, into meterflow's stdin; with several header classes,
     * each run of one class's lines into a file of its own after its header (meterflow reads its
     * inputs in order, each with its header). Returns "index TAB lines TAB lines equal to the header
     * TAB figures".
     */
    String run(int index, Iterator<Tuple2<Long, byte[]>> it) throws IOException, InterruptedException {
      Path tmp = Files.createTempDirectory("meterflow-native-");
      try {
        String b = SparkFiles.get(binary);
        if (!new File(b).canExecute()) {
          throw failure("the shipped meterflow binary " + b + " is not executable");
        }
        List<String> cmd = new ArrayList<>();
        cmd.add(b);
        cmd.add("run");
        for (int k = 0; k < jobs.length; k++) {
          Path dir = Files.createDirectories(tmp.resolve("jobs").resolve(Integer.toString(k)));
          Path job = dir.resolve(jobNames[k]);
          Files.copy(Path.of(SparkFiles.get(jobs[k])), job, StandardCopyOption.REPLACE_EXISTING);
          cmd.add(job.toString());
        }
        boolean one = headers.length == 1;
        long[] lines = new long[2];
        List<String> inputs = new ArrayList<>();
        if (!one) {
          OutputStream out = null;
          int current = -1;
          try {
            while (it.hasNext()) {
              Tuple2<Long, byte[]> t = it.next();
              int c = classOf[(int) ((t._1() >>> OFFSET_BITS) & (MAX_FILES - 1))];
              if (c != current) {
                if (out != null) {
                  out.close();
                }
                String file = tmp.resolve("input" + inputs.size() + ".csv").toString();
                inputs.add(file);
                out = new BufferedOutputStream(new FileOutputStream(file), 1 << 16);
                out.write(headers[c]);
                current = c;
              }
              out.write(t._2());
              count(t._2(), headers[c], lines);
            }
          } finally {
            if (out != null) {
              out.close();
            }
          }
          for (String file : inputs) {
            Collections.addAll(cmd, "--input", file);
          }
        } else {
          Collections.addAll(cmd, "--input", "-");
        }
        String points = tmp.resolve("points").toString();
        String late = tmp.resolve("late").toString();
        String stats = tmp.resolve("stats").toString();
        Collections.addAll(cmd, "-o", points);
        if (lateDir != null) {
          Collections.addAll(cmd, "--late-output", late);
        }
        Collections.addAll(cmd, "--stats-json", stats, "--threads", "1", "--progress", "never", "-q");
        for (String f : flags) {
          cmd.add(f.startsWith(shipped) ? SparkFiles.get(f.substring(shipped.length())) : f);
        }
        File err = tmp.resolve("err").toFile();
        ProcessBuilder builder = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .redirectError(err);
        if (!one) {
          builder.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        }
        Process p = builder.start();
        if (one) {
          try (OutputStream out = new BufferedOutputStream(p.getOutputStream(), 1 << 16)) {
            out.write(headers[0]);
            while (it.hasNext()) {
              byte[] block = it.next()._2();
              out.write(block);
              count(block, headers[0], lines);
            }
          } catch (IOException e) {
            // meterflow stopped reading: its exit status and stderr say why.
          }
        }
        int code = p.waitFor();
        if (code != 0) {
          byte[] text = Files.readAllBytes(err.toPath());
          int from = Math.max(0, text.length - 1500);
          throw failure("meterflow run exited with status " + code + ":\n"
              + new String(text, from, text.length - from, StandardCharsets.UTF_8));
        }
        String part = String.format("part-%05d", index);
        store(points, pointsDir, part);
        if (lateDir != null) {
          store(late, lateDir, part);
        }
        String figures = new String(Files.readAllBytes(Path.of(stats)), StandardCharsets.UTF_8).replace('\n', ' ');
        return index + "\t" + lines[0] + "\t" + lines[1] + "\t" + figures;
      } finally {
        try (Stream<Path> walk = Files.walk(tmp)) {
          walk.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
      }
    }

    /**
     * A local file as `dir/part` through Hadoop's file system: written under the task attempt's
     * name, then renamed, so a retried or speculative attempt leaves one whole file (every attempt
     * writes the same bytes).
     */
    void store(String local, String dir, String part) throws IOException {
      org.apache.hadoop.fs.Path target = new org.apache.hadoop.fs.Path(dir, part);
      FileSystem fs = target.getFileSystem(conf.value());
      org.apache.hadoop.fs.Path attempt = new org.apache.hadoop.fs.Path(dir,
          "." + part + ".attempt-" + TaskContext.get().taskAttemptId());
      fs.copyFromLocalFile(false, true, new org.apache.hadoop.fs.Path(local), attempt);
      fs.delete(target, false);
      if (!fs.rename(attempt, target)) {
        throw failure("could not rename " + attempt + " to " + target);
      }
    }

    /**
     * Adds a block's lines to `lines[0]` and those equal to the header to `lines[1]` (meterflow
     * reads such a line, files joined with `cat`, as a repeated header: not a row).
     */
    static void count(byte[] block, byte[] header, long[] lines) {
      int start = 0;
      int h = header.length - 1; // the header without its newline
      for (int i = 0; i < block.length; i++) {
        if (block[i] == '\n') {
          lines[0]++;
          if (i - start == h && Arrays.equals(block, start, i, header, 0, h)) {
            lines[1]++;
          }
          start = i + 1;
        }
      }
    }
  }

  private NativePath() {}
}
