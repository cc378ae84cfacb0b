export {
  BullMQQueueDriver,
  type BullMQConnection,
  type BullMQQueueDriverOptions,
  type BullMQWorkerTuning,
  checkRedisEviction,
  type RedisEvictionReport,
} from './bullmq-queue.js';
