namespace SmartCity.OperatorConsole.Text;

/// <summary>The lighting page's words (kept apart from the other pages' so each page's words are in one place).</summary>
public sealed partial class ConsoleText
{
    private static readonly Dictionary<string, (string En, string Fr)> LightingWords = new(StringComparer.Ordinal)
    {
        ["nav.lighting"] = ("Lighting", "Éclairage"),
        ["lighting.title"] = ("Street lighting", "Éclairage public"),
        ["lighting.readOnly"] = ("Your role may look at lamp commands, not send them.", "Votre rôle permet de consulter les commandes d'éclairage, pas d'en envoyer."),
        ["lighting.refused"] = ("Not sent", "Non envoyée"),
        ["lighting.targetKind"] = ("Command", "Commander"),
        ["lighting.lamp"] = ("Lamp", "Lampe"),
        ["lighting.site"] = ("Site", "Site"),
        ["lighting.district"] = ("District", "Quartier"),
        ["lighting.target"] = ("Lamp, site or district", "Lampe, site ou quartier"),
        ["lighting.action"] = ("Action", "Action"),
        ["lighting.on"] = ("Switch on", "Allumer"),
        ["lighting.off"] = ("Switch off", "Éteindre"),
        ["lighting.dim"] = ("Dim to", "Graduer à"),
        ["lighting.dimPct"] = ("Dim level (%)", "Niveau (%)"),
        ["lighting.duration"] = ("For", "Durée"),
        ["lighting.untilStep"] = ("until the schedule's next step", "jusqu'au prochain pas du programme"),
        ["lighting.lasts"] = ("The level lasts for the time chosen or until the lamps' schedule changes step, whichever comes first; then each lamp goes back to its schedule, or to its level before (a lamp without a schedule keeps a level without a duration).", "Le niveau dure le temps choisi ou jusqu'au prochain pas du programme des lampes, au premier des deux ; chaque lampe revient alors à son programme, ou à son niveau d'avant (une lampe sans programme garde un niveau sans durée)."),
        ["lighting.reason"] = ("Reason", "Motif"),
        ["lighting.send"] = ("Send", "Envoyer"),
        ["lighting.commands"] = ("Commands", "Commandes"),
        ["lighting.none"] = ("No lamp command yet.", "Aucune commande d'éclairage."),
        ["lighting.level"] = ("Level", "Niveau"),
        ["lighting.until"] = ("Until", "Jusqu'à"),
        ["lighting.untilNext"] = ("next command", "prochaine commande"),
        ["lighting.state.pending"] = ("pending", "en attente"),
        ["lighting.state.confirmed"] = ("confirmed", "confirmée"),
        ["lighting.state.not_followed"] = ("not followed", "non suivie"),
        ["lighting.state.superseded"] = ("superseded", "remplacée"),
    };
}
