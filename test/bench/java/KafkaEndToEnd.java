// The broker's own floor for produce -> consume, measured with Apache Kafka's Java client (the
// kafka-clients jar the local broker already runs on), as the baseline for test/bench/kafkajs-floor.ts.
// Producer acks=all, linger.ms=0; consumer fetch.min.bytes=1, fetch.max.wait.ms=<maxWaitMs>, the
// topic's partitions assigned (no group), one record in flight at a time. The topic uses
// LogAppendTime, so the broker's append splits the trip in two.
// Run: java -cp "<kafka libs>/*" test/bench/java/KafkaEndToEnd.java <bootstrap> <topic> <records> <maxWaitMs>
// Prints one JSON object: percentiles and the samples themselves (the caller pools several runs).
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

public class KafkaEndToEnd {
  public static void main(String[] args) throws Exception {
    String bootstrap = args[0];
    String topic = args[1];
    int records = Integer.parseInt(args[2]);
    String maxWaitMs = args[3];
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    p.put("acks", "all");
    p.put("linger.ms", "0");
    p.put("key.serializer", StringSerializer.class.getName());
    p.put("value.serializer", StringSerializer.class.getName());
    Properties c = new Properties();
    c.put("bootstrap.servers", bootstrap);
    c.put("group.id", "e2e-" + UUID.randomUUID());
    c.put("enable.auto.commit", "false");
    c.put("fetch.min.bytes", "1");
    c.put("fetch.max.wait.ms", maxWaitMs);
    c.put("key.deserializer", StringDeserializer.class.getName());
    c.put("value.deserializer", StringDeserializer.class.getName());
    List<Double> total = new ArrayList<>();
    List<Double> toAppend = new ArrayList<>();
    List<Double> fromAppend = new ArrayList<>();
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(p); KafkaConsumer<String, String> consumer = new KafkaConsumer<>(c)) {
      List<TopicPartition> partitions = new ArrayList<>();
      consumer.partitionsFor(topic).forEach(info -> partitions.add(new TopicPartition(topic, info.partition())));
      consumer.assign(partitions);
      consumer.seekToEnd(partitions);
      for (TopicPartition tp : partitions) consumer.position(tp);
      for (int i = -20; i < records; i++) {
        String key = "k-" + i;
        long edge = System.currentTimeMillis();
        while (System.currentTimeMillis() == edge) Thread.onSpinWait();
        long wallAtSend = System.currentTimeMillis();
        long sent = System.nanoTime();
        producer.send(new ProducerRecord<>(topic, key, "{\"text\":\"a search request of about this size\"}"));
        ConsumerRecord<String, String> got = null;
        while (got == null) {
          for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(1000))) if (r.key().equals(key)) got = r;
        }
        long arrived = System.nanoTime();
        if (i < 0) continue; // warm-up
        double ms = (arrived - sent) / 1e6;
        total.add(ms);
        double appendAfterSend = got.timestamp() - wallAtSend;
        toAppend.add(appendAfterSend);
        fromAppend.add(ms - appendAfterSend);
      }
    }
    System.out.printf("{\"client\":\"kafka-clients (Java)\",\"records\":%d,\"fetch_max_wait_ms\":%s,\"produce_to_poll_ms\":%s,\"send_to_append_ms\":%s,\"append_to_poll_ms\":%s,\"samples\":{\"total\":%s,\"toAppend\":%s,\"fromAppend\":%s}}%n",
        records, maxWaitMs, stats(total), stats(toAppend), stats(fromAppend), list(total), list(toAppend), list(fromAppend));
  }

  private static String stats(List<Double> xs) {
    List<Double> sorted = new ArrayList<>(xs);
    Collections.sort(sorted);
    return String.format(java.util.Locale.ROOT, "{\"p50\":%.3f,\"p99\":%.3f}", pct(sorted, 50), pct(sorted, 99));
  }

  private static String list(List<Double> xs) {
    StringBuilder out = new StringBuilder("[");
    for (int i = 0; i < xs.size(); i++) out.append(i == 0 ? "" : ",").append(String.format(java.util.Locale.ROOT, "%.3f", xs.get(i)));
    return out.append("]").toString();
  }

  private static double pct(List<Double> sorted, int p) {
    int i = (int) Math.ceil(p / 100.0 * sorted.size()) - 1;
    return sorted.get(Math.max(0, Math.min(sorted.size() - 1, i)));
  }
}
