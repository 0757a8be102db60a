"""``ddcf push matrix|predictor|selection``: publish an artifact of the layout to the Hub, with a README card."""
