import { Module } from '@nestjs/common';
import { PayableModule } from '@payable/nestjs';
import { httpConformance } from '@payable/testing';
import { startNestApp } from './nest-app.js';

httpConformance('nest-express', async ({ payable, options }) => {
  @Module({ imports: [PayableModule.forRoot({ payable, ...options })] })
  class AppModule {}
  const { url, close } = await startNestApp('express', AppModule);
  return { url, close };
});
