import { MemoryStorageDriver } from '@payable/core';
import { storageConformance } from '@payable/testing';

storageConformance('memory', { makeDriver: async () => new MemoryStorageDriver() });
