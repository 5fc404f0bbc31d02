"""Everything outside the warehouse: marketplaces, couriers, printers."""
