import { isPayableError, type WebhookHandlerEvent } from '@payable/core';
import { OnPayableEvent, PayableService } from '@payable/nestjs';
import { Body, Controller, Get, HttpException, Inject, Injectable, Logger, Post } from '@nestjs/common';

/**
 * The shop's side of payments: a provider whose `@OnPayableEvent` methods run when Payable has
 * processed a provider webhook (here: remember which payments succeeded, to ship the orders).
 */
@Injectable()
export class Fulfilment {
  private readonly logger = new Logger('Fulfilment');
  /** Payable payment ids whose `payment.succeeded` event was processed, oldest first. */
  readonly paid: string[] = [];

  @OnPayableEvent('payment.succeeded')
  ship(event: WebhookHandlerEvent): void {
    const record = event.record as { id?: unknown } | null;
    if (record !== null && typeof record.id === 'string') {
      this.paid.push(record.id);
      this.logger.log(`payment ${record.id} succeeded (${event.provider} event ${event.providerEventId}): shipping`);
    }
  }
}

/** Body of `POST /shop/orders`. */
interface OrderBody {
  orderId?: unknown;
  amount?: unknown;
}

/**
 * The shop's own routes, beside Payable's: a JSON order route that charges through the injected
 * `PayableService`, and the list of payments the event handler saw.
 */
@Controller('shop')
export class ShopController {
  constructor(
    @Inject(PayableService) private readonly billing: PayableService,
    @Inject(Fulfilment) private readonly fulfilment: Fulfilment,
  ) {}

  @Post('orders')
  async order(@Body() body: OrderBody): Promise<{ orderId: string; paymentId: string; status: string }> {
    const orderId = typeof body.orderId === 'string' ? body.orderId : `order-${Date.now()}`;
    try {
      const payment = await this.billing.payable.charge(
        {
          amount: Number(body.amount ?? 1999),
          currency: 'EUR',
          description: `Order ${orderId}`,
          metadata: { orderId },
        },
        { idempotencyKey: `order-${orderId}` },
      );
      return { orderId, paymentId: payment.id, status: payment.status };
    } catch (error) {
      // Payable errors keep their status and JSON body.
      if (isPayableError(error)) throw new HttpException(error.toJSON(), error.httpStatus);
      throw error;
    }
  }

  @Get('paid')
  paid(): { paid: string[] } {
    return { paid: [...this.fulfilment.paid] };
  }
}
