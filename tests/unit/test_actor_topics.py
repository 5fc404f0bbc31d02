"""The actor index follows every kind of event that names who did it, in every aggregate of the domain."""

from projections.actors import ActorIndexProjection


def test_purchasing_transfers_routing_review_and_after_sales_are_in_the_actor_index():
    topics = ActorIndexProjection.topics

    for event in ("PurchaseOrder.Approved", "Supplier.Revised", "Transfer.Shipped", "RoutingRules.Revised",
                  "ReviewRuleSet.RuleChanged", "AfterSalesCase.Refunded", "DropshipOrder.Shipped",
                  "Order.Cancelled", "Stock.Received"):
        assert any(topic.endswith(event) for topic in topics), event
