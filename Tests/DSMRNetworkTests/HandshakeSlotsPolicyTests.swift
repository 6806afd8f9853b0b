@testable import DSMRNetwork
import Testing

/// The admission rule of handshake slots, on its own: which waiting
/// connection a new one pushes out.
@Suite("Handshake slot policy")
struct HandshakeSlotsPolicyTests {
    typealias Slots = HandshakeSlots<Int, Int>

    @Test func aFullAddressPushesOutItsOwnOldest() {
        var slots = Slots(perAddress: 2, shared: 10)
        #expect(admit(&slots, 1, from: "10.0.0.1") == .admitted(nil))
        #expect(admit(&slots, 2, from: "10.0.0.2") == .admitted(nil))
        #expect(admit(&slots, 3, from: "10.0.0.1") == .admitted(nil))
        #expect(admit(&slots, 4, from: "10.0.0.1") == .admitted(1))
        #expect(admit(&slots, 5, from: "10.0.0.1") == .admitted(3))
        #expect(slots.count == 3 && slots.waiting(from: "10.0.0.1") == 2)
    }

    @Test func outsidersFillingTheSharedSlotsNeverPushOutAValidatorsConnection() {
        var slots = Slots(perAddress: 2, shared: 4)
        #expect(admit(&slots, 0, from: "10.0.0.11", validators: 1) == .admitted(nil))
        // A hundred outsiders' addresses push out only each other.
        for key in 1...100 {
            let result = admit(&slots, key, from: "10.1.0.\(key)")
            #expect(result == .admitted(key > 4 ? key - 4 : nil))
        }
        #expect(slots.entries[0] != nil && slots.count == 5)
        // The validator's address has its slots, and a second validator there doubles them.
        #expect(admit(&slots, 200, from: "10.0.0.11", validators: 1) == .admitted(nil))
        #expect(admit(&slots, 201, from: "10.0.0.11", validators: 1) == .admitted(0))
        #expect(admit(&slots, 202, from: "10.0.0.11", validators: 2) == .admitted(nil))
    }

    @Test func forgettingAConnectionFreesItsSlot() {
        var slots = Slots(perAddress: 1, shared: 1)
        #expect(admit(&slots, 1, from: "10.0.0.1") == .admitted(nil))
        slots.remove(1)
        #expect(admit(&slots, 2, from: "10.0.0.2") == .admitted(nil))
        #expect(slots.count == 1 && slots.waiting(from: "10.0.0.1") == 0)
        // No slots at all: refused, not admitted by pushing out nothing.
        var none = Slots(perAddress: 1, shared: 0)
        #expect(admit(&none, 1, from: "10.0.0.1") == .refused)
    }

    enum Outcome: Equatable {
        case admitted(Int?)
        case refused
    }

    private func admit(_ slots: inout Slots, _ key: Int, from source: String, validators: Int = 0) -> Outcome {
        switch slots.admit(key, key, from: source, validators: validators) {
        case .admitted(let evicted): .admitted(evicted)
        case .refused: .refused
        }
    }
}
